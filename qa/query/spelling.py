"""Questions read the way this corpus writes: misspelled words corrected to the corpus's own, and
abbreviations the corpus defines expanded to their long forms (issue 16).

Both come from the index's `Vocabulary` (built at index time from the corpus itself), never from
a list in code, so they work on any corpus. A correction is made only for a question word the
index has never seen (neither the word nor its BM25 token), of 5 letters or more, to a corpus word
within edit distance 1 (2 from 8 letters), the most frequent of the nearest; the answer lists each one (``corrections``), so the clinician sees what was read.

>>> from qa.index.vocabulary import Definition, Vocabulary
>>> v = Vocabulary({"mrd": [Definition("MRD", "minimal residual disease", "d", 0)]},
...                {"midostaurin": 9, "schedule": 4, "dose": 7})
>>> r = read_question("midostaurn dosing schedual if MRD positive?", v, known=lambda w: w in ("dosing", "positive"))
>>> r.text, r.corrections
('midostaurin dosing schedule if MRD positive?', (('midostaurn', 'midostaurin'), ('schedual', 'schedule')))
>>> r.expansions
('minimal residual disease',)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from qa.index.bm25 import STOPWORDS
from qa.index.vocabulary import Vocabulary

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
MIN_LETTERS = 5


@dataclass(frozen=True)
class ReadQuestion:
    text: str  # the question with corrections made
    corrections: tuple[tuple[str, str], ...]  # (typed, corrected)
    expansions: tuple[str, ...]  # long forms of the corpus's abbreviations found in the question


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it must exceed ``limit``.

    >>> edit_distance("schedual", "schedule", 2), edit_distance("dose", "daunorubicin", 2)
    (2, 3)
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away (Norvig's)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
            | {a + c + b for a, b in splits for c in _LETTERS})


class Speller:
    """Corrections to the corpus's words: distance 1 by looking up every edit of the word (~600 for
    ten letters, a fraction of a millisecond at any corpus size); distance 2, from eight letters, by
    comparing with the corpus words of about its length that share its first three letters (typos
    seldom hit the start of a long word, and this keeps the comparisons few at MedQuAD's size)."""

    def __init__(self, words: dict[str, int]):
        self.words = words
        self.buckets: dict[tuple[str, int], list[str]] = {}
        for w in words:
            if len(w) >= 6:
                self.buckets.setdefault((w[:3], len(w)), []).append(w)
        self.correct = lru_cache(maxsize=4096)(self._correct)

    def _correct(self, word: str) -> str | None:
        near = [w for w in edits1(word) if w in self.words]
        if near:
            return max(near, key=lambda w: (self.words[w], w))
        if len(word) < 8:
            return None
        far = [(edit_distance(word, c, 2), -self.words[c], c)
               for n in range(len(word) - 2, len(word) + 3) for c in self.buckets.get((word[:3], n), ())]
        best = min((x for x in far if x[0] <= 2), default=None)
        return best[2] if best else None


def _may_abbreviate(word: str, vocab: Vocabulary) -> bool:
    """Typed in capitals ("ALL", "FIPV") or with a digit ("E-30"), a word may be a short form; typed
    in lower or title case only if it is no stopword and no word the corpus uses as a word: "all",
    "is" and "are" are not ALL, IS and ARE, while "aml" is AML."""
    if sum(c.isupper() for c in word) >= 2 or any(c.isdigit() for c in word):
        return True
    low = word.lower()
    return len(low) >= 3 and low not in STOPWORDS and low not in vocab.words


def read_question(question: str, vocab: Vocabulary, known: Callable[[str], bool],
                  speller: Speller | None = None) -> ReadQuestion:
    """``question`` with unseen words corrected and the corpus's abbreviations it holds resolved.
    ``known(word)``: whether the index's BM25 vocabulary has the word's tokens."""
    speller = speller or Speller(vocab.words)
    fixes: list[tuple[str, str]] = []
    out, last = [], 0
    for m in _WORD.finditer(question):
        w = m.group()
        low = w.lower()
        if len(low) >= MIN_LETTERS and low.isalpha() and low not in vocab.words and not known(low):
            fixed = speller.correct(low)
            if fixed and fixed != low:
                fixes.append((w, fixed))
                out.append(question[last:m.start()] + (fixed.capitalize() if w[0].isupper() and w[1:].islower() else fixed))
                last = m.end()
    text = "".join(out) + question[last:]
    longs: list[str] = []
    for m in _WORD.finditer(text):
        w = m.group()
        if not _may_abbreviate(w, vocab):
            continue
        for long in vocab.long_forms(w):
            if long.lower() not in text.lower() and long not in longs:
                longs.append(long)
    return ReadQuestion(text, tuple(fixes), tuple(longs))
