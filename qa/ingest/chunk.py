"""Structure-aware chunking: blocks, sentence units, then chunks.

A document's text is read as Markdown-like blocks: heading lines, list items and paragraphs
(separated by blank lines). Paragraphs are split into sentences; a list item is one unit, kept
whole, because "- Do not perform leukapheresis in suspected APL" must never lose its negation.

Units are packed into chunks that stay inside one section (the heading path is chunk metadata and
part of the text that BM25 and the embedder see), aiming at ~`target_words` words and never past
`max_words` unless one unit alone is longer. all-MiniLM-L6-v2 truncates at 256 word pieces, about
190 English words, hence the defaults. Consecutive chunks of a section share one unit of overlap
so that an answer spanning a chunk edge is still found whole in one of them.

Chunk ids hash the document id, section and chunk text, so an unchanged document keeps its ids.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from qa.ingest.sentences import split_spans
from qa.types import Block, Document

_LINE = re.compile(r"[^\n]*(?:\n|$)")
_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+")
_HEADING = re.compile(r"^#{1,6}[ \t]+")


@dataclass(frozen=True)
class ChunkParams:
    target_words: int = 150
    max_words: int = 200
    overlap_units: int = 1
    max_overlap_words: int = 60

    def __post_init__(self):
        if not 0 < self.target_words <= self.max_words:
            raise ValueError("chunking needs 0 < target_words <= max_words")
        if self.overlap_units < 0:
            raise ValueError("overlap_units must be >= 0")


def blocks(doc: Document) -> list[Block]:
    """Heading lines, list items and paragraphs, with spans that exclude markers and whitespace."""
    text, out = doc.text, []
    para_start = para_end = None
    starts = [s.start for s in doc.sections]
    heading_ends = set(starts)  # a '#' line is a heading only where the reader found one (.txt: never)

    def section_at(offset: int) -> tuple[str, ...]:
        """The heading path in force at ``offset`` (binary search: a document may have thousands)."""
        i = bisect.bisect_right(starts, offset)
        return doc.sections[i - 1].path if i else ()

    def flush():
        nonlocal para_start, para_end
        if para_start is not None:
            out.append(Block(para_start, para_end, "para", section_at(para_start), doc.page_at(para_start)))
        para_start = para_end = None

    for m in _LINE.finditer(text):
        line_start, line = m.start(), m.group().rstrip("\n")
        if m.start() == m.end():
            break
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        lead = len(line) - len(line.lstrip())
        a, b = line_start + lead, line_start + len(line.rstrip())
        # a line that opens with a list marker continues a paragraph whose last line stopped
        # mid-sentence ("...before day\n14. Review"): a wrapped number, not a new item
        wrapped = para_start is not None and text[para_end - 1] not in ".:;!?"
        if _HEADING.match(line) and line_start + len(line) in heading_ends:
            flush()
            out.append(Block(a, b, "heading", section_at(b), doc.page_at(a)))
        elif (marker := _ITEM.match(line)) and not wrapped:
            flush()
            a = line_start + marker.end()
            if a < b:
                out.append(Block(a, b, "item", section_at(a), doc.page_at(a)))
        elif para_start is None:
            para_start, para_end = a, b
        else:
            para_end = b  # a wrapped line continues the paragraph
    flush()
    return out


def units(doc: Document) -> list[Block]:
    """The answer units: sentences of paragraphs, whole list items (headings excluded)."""
    out = []
    for blk in blocks(doc):
        if blk.kind == "item":
            out.append(blk)
        elif blk.kind == "para":
            for a, b in split_spans(doc.text, blk.start, blk.end):
                out.append(Block(a, b, "sent", blk.section, doc.page_at(a)))
    return out


@dataclass(frozen=True)
class RawChunk:
    chunk_id: str
    start: int
    end: int
    section: tuple[str, ...]
    page: int | None
    unit_lo: int  # units [unit_lo, unit_hi) of the document
    unit_hi: int


def _words(doc: Document, u: Block) -> int:
    return len(doc.text[u.start:u.end].split())


def _groups(us: list[Block]) -> list[tuple[int, int]]:
    """Runs of consecutive units with the same section (and page)."""
    runs, lo = [], 0
    for i in range(1, len(us) + 1):
        if i == len(us) or (us[i].section, us[i].page) != (us[lo].section, us[lo].page):
            runs.append((lo, i))
            lo = i
    return runs


def _pack(doc: Document, us: list[Block], lo: int, hi: int, p: ChunkParams) -> list[tuple[int, int]]:
    spans, start = [], lo
    while start < hi:
        end, words = start + 1, _words(doc, us[start])
        while end < hi and words + _words(doc, us[end]) <= p.max_words and words < p.target_words:
            words += _words(doc, us[end])
            end += 1
        spans.append((start, end))
        if end >= hi:
            break
        back = min(p.overlap_units, end - start - 1)
        while back > 0 and sum(_words(doc, us[i]) for i in range(end - back, end)) > p.max_overlap_words:
            back -= 1
        start = end - back
    return spans


def chunk_id(doc_id: str, section: tuple[str, ...], text: str, occurrence: int) -> str:
    key = "\x1f".join([doc_id, "\x1e".join(section), text, str(occurrence)])
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def chunk(doc: Document, params: ChunkParams = ChunkParams()) -> tuple[list[Block], list[RawChunk]]:
    """Split one document into answer units and the chunks that hold them."""
    us = units(doc)
    out, seen = [], {}
    for lo, hi in _groups(us):
        for a, b in _pack(doc, us, lo, hi, params):
            start, end = us[a].start, us[b - 1].end
            text = doc.text[start:end]
            key = (us[a].section, text)
            seen[key] = seen.get(key, -1) + 1
            cid = chunk_id(doc.doc_id, us[a].section, text, seen[key])
            out.append(RawChunk(cid, start, end, us[a].section, us[a].page, a, b))
    return us, out
