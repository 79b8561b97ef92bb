"""The sources' own references: a document's reference list, and the markers that cite it.

Guideline texts cite their literature with numbered markers ("...every 12 hours 7.", "[4, 5]")
and end with a list under a "References" heading. At index time `References.build` reads each
document's list into numbered entries (their text, offsets and a link: an http(s) URL, a DOI or a
PMID); at question time `References.cited` finds the markers in a cited sentence and returns the
entries they name, so a clinician sees where the source got it. The text itself is never edited:
markers stay in the sentence, entries keep offsets into the stored text.

Markers are read two ways:
- bracketed numbers, ``[7]``, ``[4, 5]``, ``[2-4]``, anywhere in any document with a list;
- bare trailing numbers, "...standard leukemia protocols 1, 3", only at the end of a sentence or
  list item, only in a document that has a reference list, and never after a word that takes a
  number ("day 14", "grade 3", "stage 2"): a guideline's "on day 14" is a day, not a citation.
A document without a reference list has no source references: a number there is the text's own.
A marker whose number is not in the list (the bundled guideline cites 1-7 and lists four) still
comes back, with ``text`` None, so the reader knows the source cites something it does not list.

>>> from qa.types import Document, Section
>>> text = "Give cytarabine 7.\\n\\n## References\\n\\n1. Smith J. AML. 2020.\\n\\n7. Doe A. doi:10.1000/xyz\\n"
>>> doc = Document("d", text, sections=(Section(0, 19, ("Guide",)), Section(34, len(text), ("References",))))
>>> refs = References.build([doc])
>>> [(r.n, r.text, r.url) for r in refs.cited("d", 0, 18, "Give cytarabine 7.")]
[(7, 'Doe A. doi:10.1000/xyz', 'https://doi.org/10.1000/xyz')]
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.types import SourceRef

FILE = "references.json"
FORMAT = 1

_LIST_HEADING = re.compile(r"^(?:\d+[.)]?\s*)?(references?|bibliography|works cited|literature cited|citations)\s*:?$",
                           re.I)
_NUMBERED = re.compile(r"^[ \t]*(?:\[(\d{1,3})\]|(\d{1,3})[.)])[ \t]+")
_BULLET = re.compile(r"^[ \t]*[-*+•][ \t]+")
_BRACKETED = re.compile(r"\[(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\]")
_TRAILING = re.compile(r"(\S+)[ \t]+(\d{1,3}(?:,[ \t]*\d{1,3})*)[ \t]*[.;]?[ \t]*$")
# words a bare number after them belongs to: "day 14" ends a sentence as often as a citation does
# ("every 12 hours 7", "2-4 cycles 4, 5" are citations: plurals come after their number)
_TAKES_NUMBER = frozenset(
    "day days week weeks month year age aged grade stage cycle course phase type step class level version "
    "table figure fig chapter part section arm group cohort visit dose no number trial "
    "of to and or than under over about approximately nearly least most".split())
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s<>\"']+)")
_PMID = re.compile(r"\bPMID:?\s*(\d{4,9})\b", re.I)
_MAX_RANGE = 20  # "[1-300]" is no citation of 300 entries


@dataclass(frozen=True)
class Reference:
    """One numbered entry of a document's reference list; ``text`` None: cited but not listed."""

    n: int
    text: str | None
    url: str | None = None
    start: int | None = None  # the entry's span in the stored text
    end: int | None = None


def link(entry: str) -> str | None:
    """The entry's link: its http(s) URL, else its DOI, else its PMID, as a URL.

    >>> link("Smith J. Blood. 2020. PMID: 31234567"), link("doi:10.1182/blood.2020.1.")
    ('https://pubmed.ncbi.nlm.nih.gov/31234567/', 'https://doi.org/10.1182/blood.2020.1')
    """
    if m := _URL.search(entry):
        return m.group().rstrip(".,;")
    if m := _DOI.search(entry):
        return "https://doi.org/" + m.group(1).rstrip(".,;")
    if m := _PMID.search(entry):
        return f"https://pubmed.ncbi.nlm.nih.gov/{m.group(1)}/"
    return None


def _list_span(doc) -> tuple[int, int] | None:
    """Where the reference list lies: the last "References" section and its subsections."""
    secs = doc.sections
    for i in range(len(secs) - 1, -1, -1):
        if secs[i].path and _LIST_HEADING.match(secs[i].path[-1].strip()):
            depth, end = len(secs[i].path), secs[i].end
            for s in secs[i + 1:]:
                if len(s.path) <= depth or s.path[:depth] != secs[i].path:
                    break
                end = s.end
            return secs[i].start, end
    return None


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Blank-line separated spans of ``text[start:end]``, stripped."""
    out = []
    for m in re.finditer(r"\S(?:.*?\S)?(?=\s*(?:\n[ \t]*\n|$))", text[start:end], re.S):
        out.append((start + m.start(), start + m.end()))
    return out


def _is_label(para: str) -> bool:
    """'Research', 'Guideline': a short heading-like line that opens an entry in some exports."""
    return len(para.split()) <= 3 and not re.search(r"[\d.,:;]", para) and "\n" not in para


def _entries(text: str, start: int, end: int) -> list[tuple[int | None, int, int]]:
    """(number or None, start, end) of each entry: numbered lines, bullets, or paragraphs."""
    lines = [(start + m.start(), start + m.end()) for m in re.finditer(r"[^\n]+", text[start:end])]
    numbered = [(a, b, m) for a, b in lines if (m := _NUMBERED.match(text[a:b]))]
    if numbered or any(_BULLET.match(text[a:b]) for a, b in lines):
        out: list[tuple[int | None, int, int]] = []
        for a, b in lines:
            m = _NUMBERED.match(text[a:b]) if numbered else _BULLET.match(text[a:b])
            if m:
                n = int(m.group(1) or m.group(2)) if numbered else None
                out.append((n, a + m.end(), b))
            elif out:  # a wrapped line continues the entry above
                out[-1] = (out[-1][0], out[-1][1], b)
        return out
    paras = _paragraphs(text, start, end)
    if paras and _is_label(text[paras[0][0]:paras[0][1]]):
        grouped: list[tuple[int | None, int, int]] = []
        for a, b in paras:
            if _is_label(text[a:b]) or not grouped:
                grouped.append((None, a, b))
            else:
                grouped[-1] = (None, grouped[-1][1], b)
        return grouped
    return [(None, a, b) for a, b in paras]


def reference_list(doc) -> list[Reference]:
    """The document's numbered reference entries (numbered in order where the list is not)."""
    span = _list_span(doc)
    if span is None:
        return []
    refs, seen = [], set()
    for i, (n, a, b) in enumerate(_entries(doc.text, *span), start=1):
        n = i if n is None else n
        if n in seen:
            continue
        seen.add(n)
        shown = " · ".join(" ".join(doc.text[x:y].split()) for x, y in _paragraphs(doc.text, a, b))
        refs.append(Reference(n, shown, link(shown), a, b))
    return refs


def _numbers(group: str) -> list[int]:
    """'4, 5' -> [4, 5]; '2-4' -> [2, 3, 4] (bounded)."""
    out: list[int] = []
    for part in re.split(r"\s*,\s*", group.strip()):
        bounds = [int(x) for x in re.split(r"\s*[–-]\s*", part) if x.isdigit()]
        if 1 <= len(bounds) <= 2 and 0 < bounds[0] <= bounds[-1] and bounds[-1] - bounds[0] <= _MAX_RANGE:
            out.extend(range(bounds[0], bounds[-1] + 1))
    return out


def markers(sentence: str) -> list[tuple[list[int], int, int]]:
    """(numbers, start, end) of each citation marker in a sentence, offsets into the sentence.

    >>> markers("Give it every 12 hours 7."), markers("Repeat on day 14."), markers("As shown [2-4].")
    ([([7], 23, 24)], [], [([2, 3, 4], 9, 14)])
    """
    found = [(_numbers(m.group(1)), m.start(), m.end()) for m in _BRACKETED.finditer(sentence)]
    m = _TRAILING.search(sentence)
    if m and not found:
        word = m.group(1).lower()
        if re.search(r"[^\W\d_]|[%)\]]", word) and word.strip("(),:;") not in _TAKES_NUMBER:
            found.append((_numbers(m.group(2)), m.start(2), m.end(2)))
    return [f for f in found if f[0]]


@dataclass
class References:
    """Every document's reference list, by document id; only documents that have one."""

    lists: dict[str, list[Reference]] = field(default_factory=dict)

    @classmethod
    def build(cls, docs) -> References:
        return cls({d.doc_id: refs for d in docs if (refs := reference_list(d))})

    def cited(self, doc_id: str, start: int, end: int, text: str) -> list[SourceRef]:
        """The references named by markers in the sentence ``text`` at ``start`` of ``doc_id``."""
        listed = self.lists.get(doc_id)
        if not listed:
            return []
        by_n = {r.n: r for r in listed}
        out, seen = [], set()
        for numbers, a, b in markers(text):
            for n in numbers:
                if n not in seen:
                    seen.add(n)
                    r = by_n.get(n)
                    out.append(SourceRef(n, r.text if r else None, r.url if r else None, [start + a, start + b]))
        return out

    def save(self, path: Path) -> None:
        body = {"format": FORMAT, "lists": {d: [asdict(r) for r in refs] for d, refs in self.lists.items()}}
        Path(path).write_text(json.dumps(body, ensure_ascii=False, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> References:
        """The index's reference lists; none for an index built before they were read."""
        if not Path(path).exists():
            return cls()
        body = json.loads(Path(path).read_text())
        if body.get("format") != FORMAT:
            raise ValueError(f"{FILE} format {body.get('format')!r} is not {FORMAT}; rebuild with `qa index`")
        return cls({str(d): [Reference(**r) for r in refs] for d, refs in body["lists"].items()})
