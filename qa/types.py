"""The values that flow between pipeline stages.

Every span is a pair of character offsets into `Document.text`, the NFKC-normalised
text that the index stores, so that for any `Chunk` or `Sentence` ``s``::

    doc.text[s.start:s.end] == s.text(doc)

Dataclasses are frozen: stages hand values on, they never edit them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SECTION_SEP = " › "


def section_label(title: str, path: tuple[str, ...]) -> str:
    """'Induction › Standard', without a leading heading that only repeats the title."""
    if path and path[0] == title:
        path = path[1:]
    return SECTION_SEP.join(path)


@dataclass(frozen=True)
class Section:
    """A heading's span of the document: from its first body character to the next heading."""

    start: int
    end: int
    path: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    doc_id: str
    text: str
    title: str = ""
    source: str = ""
    date: str | None = None
    url: str | None = None
    # (start, end, page number) spans, for PDFs; empty otherwise
    pages: tuple[tuple[int, int, int], ...] = ()
    sections: tuple[Section, ...] = ()

    def page_at(self, offset: int) -> int | None:
        for start, end, page in self.pages:
            if start <= offset < end:
                return page
        return None

    def meta(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("text")
        d["sections"] = [[s.start, s.end, list(s.path)] for s in self.sections]
        d["pages"] = [list(p) for p in self.pages]
        return d


@dataclass(frozen=True)
class Block:
    """A paragraph, list item or heading line, as found by the parser."""

    start: int
    end: int
    kind: str  # "para" | "item" | "heading"
    section: tuple[str, ...]
    page: int | None = None


@dataclass(frozen=True)
class Sentence:
    """The unit of answers: one sentence, or one whole list item."""

    doc: int  # row of the document in the index
    start: int
    end: int
    chunk: int  # first chunk that holds it


class SentenceTable:
    """An index's sentences as named columns, one int64 array each; row ``i`` is a `Sentence`.

    Stored on disk as one ``(n, 4)`` array (`as_array`, `from_array`); in memory the columns are
    read by name, never by number.

    >>> t = SentenceTable.from_rows([(0, 0, 5, 0), (0, 6, 9, 1)])
    >>> len(t), t[1], t.doc.tolist()
    (2, Sentence(doc=0, start=6, end=9, chunk=1), [0, 0])
    """

    COLUMNS = ("doc", "start", "end", "chunk")
    __slots__ = COLUMNS

    def __init__(self, doc, start, end, chunk):
        import numpy as np

        cols = [np.ascontiguousarray(c, dtype=np.int64) for c in (doc, start, end, chunk)]
        if len({len(c) for c in cols}) != 1 or any(c.ndim != 1 for c in cols):
            raise ValueError("sentence columns must be 1-d and of one length")
        self.doc, self.start, self.end, self.chunk = cols

    @classmethod
    def from_array(cls, rows) -> "SentenceTable":
        """From an ``(n, 4)`` array of (doc, start, end, chunk) rows, as `sentences.npy` holds."""
        import numpy as np

        a = np.asarray(rows, dtype=np.int64)
        if a.ndim != 2 or a.shape[1] != 4:
            raise ValueError(f"sentence rows must be an (n, 4) array, not {a.shape}")
        return cls(a[:, 0], a[:, 1], a[:, 2], a[:, 3])

    @classmethod
    def from_rows(cls, rows) -> "SentenceTable":
        import numpy as np

        return cls.from_array(np.array(list(rows), dtype=np.int64).reshape(-1, 4))

    def as_array(self):
        import numpy as np

        return np.stack([self.doc, self.start, self.end, self.chunk], axis=1)

    def __len__(self) -> int:
        return len(self.doc)

    def __getitem__(self, i: int) -> Sentence:
        return Sentence(int(self.doc[i]), int(self.start[i]), int(self.end[i]), int(self.chunk[i]))

    def __iter__(self):
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc: int
    start: int
    end: int
    section: tuple[str, ...]
    page: int | None
    sent_lo: int  # sentences [sent_lo, sent_hi) of the index lie in this chunk
    sent_hi: int


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk, with where each retriever ranked it (1-based; None = not retrieved)."""

    chunk: int
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None


@dataclass(frozen=True)
class Filters:
    doc_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    exclude_doc_ids: tuple[str, ...] = ()  # training: ask as if these documents were not indexed

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.sources or self.exclude_doc_ids)


@dataclass(frozen=True)
class SourceRef:
    """An entry of the cited document's own reference list, named by a marker in the cited
    sentence ("...every 12 hours 7."): ``n`` as the source numbers it, ``text`` None when the source
    cites a number its list does not hold, ``at`` the marker's [start, end] in the document."""

    n: int
    text: str | None
    url: str | None
    at: list[int]


@dataclass(frozen=True)
class Citation:
    id: int
    doc_id: str
    title: str
    section: str
    page: int | None
    date: str | None
    url: str | None
    text: str
    start: int
    end: int
    score: float
    source_refs: tuple[SourceRef, ...] = ()  # the source's own references this sentence cites


@dataclass(frozen=True)
class Passage:
    doc_id: str
    chunk_id: str
    title: str
    section: str
    text: str
    start: int
    end: int
    score: float
    bm25_rank: int | None
    dense_rank: int | None


@dataclass(frozen=True)
class Answer:
    """The answer contract: `to_dict()` is what `qa ask --json` and `POST /v1/ask` return."""

    question: str
    answer: str
    abstained: bool
    confidence: float
    raw_score: float
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    index_id: str
    mode: str
    degraded: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)
    # question words the index never saw, read as the corpus's own: ({"from": typed, "to": read}, ...)
    corrections: tuple[dict[str, str], ...] = ()
    answer_id: str = ""  # this answer's id, for feedback on it (POST /v1/feedback)
    resolved_question: str | None = None  # a follow-up as searched: completed from its thread's questions
    # quotes that give different values for one quantity: ({"citations": [1, 3], "what", "values"}, ...)
    conflicts: tuple[dict, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and lists, built field by field: `dataclasses.asdict`'s recursive deep copy
        was the largest share of the event loop's own work per request (py-spy, 2026-12-04)."""
        d = dict(vars(self))
        d["timings_ms"] = dict(self.timings_ms)
        d["corrections"] = [dict(c) for c in self.corrections]
        d["conflicts"] = [{k: list(v) if isinstance(v, (list, tuple)) else v for k, v in c.items()} for c in self.conflicts]
        d["citations"] = [vars(c) | {"source_refs": [vars(r) | {"at": list(r.at)} for r in c.source_refs]}
                          for c in self.citations]
        d["passages"] = [dict(vars(p)) for p in self.passages]
        return d
