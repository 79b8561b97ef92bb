"""Lexical retrieval: a clinical tokenizer and a bm25s index.

Engine: bm25s builds the index (sparse precomputed scores); questions are scored in numpy from its
score matrix, or by bm25s's numba search on indexes of NUMBA_FROM_DOCS chunks or more. rank-bm25
took 107 ms a query at 50k chunks on this machine against 0.1 ms for bm25s with numba.

Variant: bm25s ``method="lucene"``: idf = log(1 + (N - df + 0.5) / (df + 0.5)), which is never
negative, so a term found in most chunks still counts a little instead of subtracting score (the
Okapi/Robertson idf goes negative there; rank-bm25 patches that with an epsilon floor). It is also
the variant Anserini's published BEIR numbers use, so our figures compare with theirs.
k1=1.2, b=0.75: Lucene's defaults.

Tokenizer: lowercase; tokens keep their inner joiners so clinical terms survive whole:
``flt3-itd``, ``7+3``, ``mg/m2``, ``t(8;21)``, ``0.5``, ``100-200``. A compound token also emits
its parts (``flt3-itd`` -> ``flt3``, ``itd``) so "FLT3" still finds "FLT3-ITD". Alphabetic
tokens are Snowball-stemmed; English stopwords are dropped.

>>> tokenize("FLT3-ITD AML: add midostaurin 50 mg/m2 after 7+3, t(8;21)")
['flt3-itd', 'flt3', 'itd', 'aml', 'add', 'midostaurin', '50', 'mg/m2', 'mg', 'm2', '7+3', '7', '3', 't(8;21)', 't', '8', '21']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

_TOKEN = re.compile(
    r"[a-z0-9]+\([a-z0-9;:.,+-]+\)"  # t(8;21), inv(16)
    r"|[a-z0-9]+(?:[-+/.,:;][a-z0-9]+)*\+?"  # flt3-itd, 7+3, mg/m2, 0.5, hla-b27, her2+
)
_PART = re.compile(r"[a-z0-9]+")
_NUMBER_SEP = re.compile(r"^\d+,\d{3}$")  # 1,000 stays one token

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word) if word.isalpha() else word


def tokenize(text: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        tok = m.group().strip(".,:;")
        if not tok:
            continue
        parts = _PART.findall(tok)
        if (len(parts) > 1 or tok != parts[0]) and not _NUMBER_SEP.match(tok):
            out.append(tok)
            out.extend(_stem(p) for p in parts if p not in STOPWORDS)
        elif tok not in STOPWORDS:
            out.append(_stem(tok))
    return out


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"

    def __post_init__(self):
        if self.k1 < 0 or not 0 <= self.b <= 1:
            raise ValueError("BM25 needs k1 >= 0 and 0 <= b <= 1")
        if self.method not in ("lucene", "robertson", "atire", "bm25l", "bm25+"):
            raise ValueError(f"unknown BM25 method {self.method!r}")


# Below this many chunks BM25 is scored in numpy (0.27 ms p50 a MedQuAD question at 55k chunks, against
# 0.08 ms for bm25s's numba search, which first compiles for ~5 s in every process: 29 s on an AMD
# EPYC); above it a server amortises the compile and numba's speed pays (benchmarks/bm25_backends.py).
NUMBA_FROM_DOCS = 200_000


def _backend() -> str:
    try:
        import numba  # noqa: F401

        return "numba"
    except ImportError:
        return "numpy"


class BM25Index:
    """A bm25s index over pre-tokenized texts. Rows are chunk numbers."""

    def __init__(self, model, params: BM25Params, n_docs: int):
        self.model, self.params, self.n_docs = model, params, n_docs

    @classmethod
    def build(cls, token_lists: list[list[str]], params: BM25Params = BM25Params()) -> BM25Index:
        import bm25s

        model = bm25s.BM25(k1=params.k1, b=params.b, method=params.method, backend="numpy")  # a search-time choice
        # our own vocabulary, numbered in sorted order: bm25s numbers terms in set order, which
        # follows the process's string hashing, so two builds of one corpus differed byte for byte
        vocab = {t: i for i, t in enumerate(sorted({t for toks in token_lists for t in toks}))}
        model.index(([[vocab[t] for t in toks] for toks in token_lists], vocab), show_progress=False)
        return cls(model, params, len(token_lists))

    def save(self, folder: Path) -> None:
        self.model.save(str(folder), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, params: BM25Params, n_docs: int) -> BM25Index:
        import bm25s

        model = bm25s.BM25.load(str(folder), allow_pickle=False)
        model.backend = "numpy"  # whatever the saved params say (indexes before 2026-12-02 said numba)
        if n_docs >= NUMBA_FROM_DOCS and _backend() == "numba":
            model.backend = "numba"
            model.activate_numba_scorer()
        index = cls(model, params, n_docs)
        if int(model.scores["num_docs"]) != n_docs:
            raise ValueError(f"BM25 index holds {model.scores['num_docs']} documents, expected {n_docs}")
        return index

    def search(self, tokens: list[str], k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows with a positive score, best first; ties broken by row for stable answers.

        Scored here in numpy from bm25s's own score matrix (one column of precomputed term scores a
        token), not by bm25s's numba search: that compiled for ~6 s in every new process (28.9 s
        on an AMD EPYC), the larger part of a cold `qa ask`, and numba's cache cannot be switched on
        from outside bm25s. The sums are bm25s's own (float32, token by token), so scores are equal.
        """
        vocab, n_terms = self.model.vocab_dict, len(self.model.scores["indptr"]) - 1
        ids = [i for i in (vocab.get(t) for t in tokens) if i is not None and i < n_terms]  # bm25s adds "" past the end
        if not ids or self.n_docs == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.model.backend == "numba":  # large indexes only (NUMBA_FROM_DOCS)
            rows, scores = self.model.retrieve([[t for t in tokens if vocab.get(t, n_terms) < n_terms]],
                                               k=min(k, self.n_docs), show_progress=False,
                                               backend_selection="numba", n_threads=1, weight_mask=mask)
            return top_k_of(rows[0], scores[0])
        scores = self.scores(ids)
        if mask is not None:
            scores *= mask
        return top_k(scores, k)

    def scores(self, ids: list[int]) -> np.ndarray:
        """BM25 score of every row for the query term ids (repeats count, as in bm25s)."""
        m = self.model.scores
        data, indices, indptr = m["data"], m["indices"], m["indptr"]
        out = np.zeros(self.n_docs, dtype=np.float32)
        for t in ids:
            lo, hi = indptr[t], indptr[t + 1]
            out[indices[lo:hi]] += data[lo:hi]  # a row occurs once in a term's postings: no lost adds
        nonoccurrence = getattr(self.model, "nonoccurrence_array", None)  # bm25l and bm25+ only
        if nonoccurrence is not None:
            out += nonoccurrence[ids].sum()
        return out


def top_k_of(rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Selected rows with a positive score, by (score desc, row asc)."""
    keep = scores > 0
    rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order].astype(np.int64), scores[order].astype(np.float32)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best positive scores by (score desc, row asc), ties at the cut included by row.

    >>> top_k(np.array([0.0, 2.0, 1.0, 2.0, 1.0], dtype=np.float32), 3)
    (array([1, 3, 2]), array([2., 2., 1.], dtype=float32))
    """
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        cut = np.partition(scores[rows], len(rows) - k)[len(rows) - k]  # the k-th best score
        above, tied = rows[scores[rows] > cut], rows[scores[rows] == cut]
        rows = np.concatenate([above, tied[:k - len(above)]])
    order = np.lexsort((rows, -scores[rows]))
    return rows[order].astype(np.int64), scores[rows[order]].astype(np.float32)


def vocab_size(folder: Path) -> int:
    return len(json.loads((folder / "vocab.index.json").read_text()))
