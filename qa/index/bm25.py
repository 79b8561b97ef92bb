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

import hashlib
import json
import re
from collections import Counter
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


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 needs of the whole corpus: its chunk count, total tokens and each term's document
    frequency. A shard of a sharded index is scored with the whole corpus's stats, not its own, so
    its scores are the unsharded index's and shards' top lists merge by score (what distributed
    search engines call global term statistics). Counts add, so each shard's stats are computed
    where its documents are and merged.

    >>> a, b = CorpusStats.of([["aml", "flt3"]]), CorpusStats.of([["aml"], ["apl"]])
    >>> m = a.merge(b); (m.n_docs, m.avgdl, m.df["aml"])
    (3, 1.3333333333333333, 2)
    """

    n_docs: int
    total_len: int
    df: dict[str, int]

    @classmethod
    def of(cls, token_lists: list[list[str]]) -> CorpusStats:
        df = Counter(t for toks in token_lists for t in set(toks))
        return cls(len(token_lists), sum(map(len, token_lists)), dict(df))

    def merge(self, other: CorpusStats) -> CorpusStats:
        df = Counter(self.df)
        df.update(other.df)
        return CorpusStats(self.n_docs + other.n_docs, self.total_len + other.total_len, dict(df))

    @property
    def avgdl(self) -> float:
        return self.total_len / self.n_docs if self.n_docs else 0.0

    def sha256(self) -> str:
        body = json.dumps([self.n_docs, self.total_len, sorted(self.df.items())], separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


def _scores_with(model, ids: list[list[int]], vocab: dict[str, int], stats: CorpusStats) -> dict:
    """bm25s's score matrix for these token ids, with idf and average length from ``stats``: the
    steps of bm25s's own ``build_index_from_ids``, fed the whole corpus's counts
    (tests/test_shards.py holds the result equal to bm25s's when ``stats`` are the texts' own)."""
    from bm25s.scoring import _build_idf_array, _build_scores_and_indices_for_matrix, _select_idf_scorer

    if model.method in model.methods_requiring_nonoccurrence:
        raise ValueError(f"BM25 method {model.method!r} cannot be sharded; use lucene, robertson or atire")
    local_df = Counter(t for doc in ids for t in set(doc))  # sizes bm25s's arrays: this shard's postings
    # the average as a numpy float64, as bm25s computes it: a Python float would keep the arithmetic
    # in float32 (NumPy's promotion rules) and scores would differ from bm25s's in the last bit
    idf = _build_idf_array({i: stats.df.get(t, 0) for t, i in vocab.items()}, stats.n_docs,
                           _select_idf_scorer(model.idf_method), dtype=model.dtype)
    flat, rows, cols = _build_scores_and_indices_for_matrix(
        ids, idf, np.float64(stats.avgdl), dict(local_df), model.k1, model.b, model.delta, None, method=model.method,
        dtype=model.dtype, int_dtype=model.int_dtype, show_progress=False)
    data, indices, indptr = model._np_csc(data=flat, rows=rows, cols=cols, shape=(len(ids), len(vocab)))
    return {"data": data.astype(model.dtype), "indices": indices, "indptr": indptr, "num_docs": len(ids)}


class BM25Index:
    """A bm25s index over pre-tokenized texts. Rows are chunk numbers."""

    def __init__(self, model, params: BM25Params, n_docs: int):
        self.model, self.params, self.n_docs = model, params, n_docs

    @classmethod
    def build(cls, token_lists: list[list[str]], params: BM25Params = BM25Params(),
              stats: CorpusStats | None = None) -> BM25Index:
        """``stats``: the whole corpus's, when these texts are one shard of it (`CorpusStats`)."""
        import bm25s

        model = bm25s.BM25(k1=params.k1, b=params.b, method=params.method, backend="numpy")  # a search-time choice
        # our own vocabulary, numbered in sorted order: bm25s numbers terms in set order, which
        # follows the process's string hashing, so two builds of one corpus differed byte for byte
        vocab = {t: i for i, t in enumerate(sorted({t for toks in token_lists for t in toks}))}
        ids = [[vocab[t] for t in toks] for toks in token_lists]
        if stats is None:
            model.index((ids, vocab), show_progress=False)
        else:
            model.scores = _scores_with(model, ids, vocab, stats)
            model.vocab_dict = dict(vocab, **({"": len(vocab)} if "" not in vocab else {}))  # as index() adds it
            model.unique_token_ids_set = set(model.vocab_dict.values())
            model.nonoccurrence_array = None  # what build_index_from_ids sets for these methods
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
