"""Sentence splitting that keeps clinical text whole.

We tried pysbd first: it cuts "approx. 0.5 mg" after "approx.", so we use a small rule-based
splitter instead and prove it with property tests (tests/test_sentences.py).

A boundary is a run of ``.``, ``!`` or ``?`` (plus closing quotes or brackets), then whitespace,
then something that can open a sentence (a capital, a digit, a quote or bracket), unless the word
before the full stop is a known abbreviation or a single letter (an initial). Because a decimal
point or the ``.`` in "Dr.Oracle" is never followed by whitespace, "0.5 mg" and "mg/m2 IV days 1-7"
stay whole.

>>> text = "Give ATRA, e.g. 25 mg/m2 daily. Then stop."
>>> [text[s:e] for s, e in split_spans(text)]
['Give ATRA, e.g. 25 mg/m2 daily.', 'Then stop.']
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """e.g i.e vs v approx ca cf fig figs tab tbl eq ref refs no nos vol pp p dr mr mrs ms prof
    st mt jr sr inc ltd co corp dept univ et al resp incl max min avg mo yr yrs wk wks hr hrs
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k a.i b.i.d t.i.d q.i.d p.o i.v
    s.c i.m q.d approx. sec ch chap ed eds esp est""".split()
)

_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([\w.]+)$")

# A sentence longer than this is cut at whitespace: degenerate input (one 10 MB line) must still
# give units an embedder and a reader can use. Real sentences are far shorter.
MAX_SENTENCE_CHARS = 2000


def _is_abbreviation(text: str, dot: int) -> bool:
    m = _WORD_BEFORE.search(text, max(0, dot - 40), dot)
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Smith", "B. cells" is rare enough to accept
    return word in ABBREVIATIONS


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = start + MAX_SENTENCE_CHARS
        out.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        out.append((start, end))
    return out


def split_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]`` as absolute (start, end) offsets, whitespace trimmed."""
    end = len(text) if end is None else end
    cuts = [start]
    for m in _BOUNDARY.finditer(text, start, end):
        first_dot = m.start()
        if text[first_dot] == "." and _is_abbreviation(text, first_dot):
            continue
        cuts.append(m.end())
    cuts.append(end)
    spans = []
    for a, b in zip(cuts, cuts[1:]):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.extend(_cut_long(text, a, b))
    return spans
