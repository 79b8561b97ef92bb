"""Retrieval's two steps, apart: each leg's top list (`search_legs`), then one fused list (`fuse_legs`).

They are apart so a sharded index (`qa.query.sharded`) runs the first on every shard, merges each
leg's lists by score, and runs the second once, exactly as `Engine.retrieve` runs both on one index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qa.index.bm25 import tokenize
from qa.index.store import IndexData
from qa.query import fuse
from qa.types import Hit

Legs = dict[str, tuple[np.ndarray, np.ndarray]]  # leg -> (rows, scores), best first


class RetrievalError(RuntimeError):
    """Neither BM25 nor dense retrieval could run; the API answers 503."""


@dataclass(frozen=True)
class RetrievalParams:
    depth: int = 50  # candidates taken from each leg before fusion
    rrf_k: int = 60
    alpha: float = 0.5  # dense weight in hybrid-weighted

    def __post_init__(self):
        if self.depth < 1 or self.rrf_k < 1 or not 0 <= self.alpha <= 1:
            raise ValueError("retrieval needs depth >= 1, rrf_k >= 1 and 0 <= alpha <= 1")


def bm25_leg(data: IndexData, question: str, depth: int, allowed: np.ndarray | None):
    """BM25's (rows, scores), best first, ``depth`` deep, among ``allowed`` chunk rows (None: all)."""
    mask = None
    if allowed is not None:
        mask = np.zeros(len(data.chunks), dtype=np.float32)
        mask[allowed] = 1.0
    return data.bm25.search(tokenize(question), depth, mask)


def search_legs(data: IndexData, question: str, q_vec: np.ndarray | None, mode: str, depth: int,
                allowed: np.ndarray | None = None, timings: dict | None = None,
                failures: list[str] | None = None, done: Legs | None = None) -> Legs:
    """Each leg the mode asks for, ``depth`` deep. A failing leg is left out (named in ``failures``)
    and BM25 stands in for a failed dense leg; if no leg can answer, `RetrievalError`. ``done``:
    legs already searched with these arguments (BM25, while the question was being encoded)."""
    timings = timings if timings is not None else {}
    failures = failures if failures is not None else []
    legs: Legs = {}
    want_dense = mode != "bm25" and q_vec is not None
    for leg in ("bm25", "dense"):
        if done and leg in done:
            legs[leg] = done[leg]
            continue
        t = time.perf_counter()
        if leg == "dense" and want_dense or leg == "bm25" and (mode != "dense" or not want_dense):
            try:
                legs[leg] = (bm25_leg(data, question, depth, allowed) if leg == "bm25"
                             else data.vectors.search(q_vec, depth, allowed))
            except Exception:  # one broken leg must not silence the other
                failures.append(leg)
        timings[leg] = (time.perf_counter() - t) * 1000
    if failures and not legs and "bm25" not in failures:
        try:
            legs["bm25"] = bm25_leg(data, question, depth, allowed)
        except Exception:
            failures.append("bm25")
    if not legs:
        raise RetrievalError(f"retrieval failed ({', '.join(failures)})")
    return legs


def fuse_legs(legs: Legs, mode: str, params: RetrievalParams, depth: int) -> list[Hit]:
    """One list, best first, ``depth`` long: one leg alone, or both fused as the mode says."""
    if len(legs) == 1:
        (leg, (rows, scores)), = legs.items()
        hits = fuse.single(rows.tolist(), scores.tolist(), leg)
    elif mode == "hybrid-weighted":
        (b_rows, b_scores), (d_rows, d_scores) = legs["bm25"], legs["dense"]
        hits = fuse.weighted(b_rows.tolist(), b_scores.tolist(), d_rows.tolist(), d_scores.tolist(), params.alpha)
    else:
        hits = fuse.rrf(legs["bm25"][0].tolist(), legs["dense"][0].tolist(), params.rrf_k)
    return hits[:depth]
