"""Searching a sharded index (`qa.index.shards`): every shard's legs in parallel, merged, fused once.

Each shard runs `search_legs` on its own index, ``depth`` deep, and names its chunks by a global
key: its document's corpus row and the chunk's place in that document, which orders chunks
exactly as the unsharded index's rows do. The coordinator merges each leg's lists by
(score desc, key asc), keeps the first ``depth``, and fuses them with `fuse_legs`: the global top
``depth`` of a leg is always among the union of the shards' top ``depth``, BM25 scores are the
unsharded index's (shards score with the whole corpus's statistics) and dense scores are per
vector, so the fused list is the unsharded one (tests/test_shards.py; on medquad-cancergov dev,
`eval/sharded.py`).

Where a shard runs is a `ShardPool`: threads in this process (`LocalPool`), or one Ray actor per
shard (`qa.cluster.shards.RayPool`). What it returns is retrieval: passages, not composed answers
(an answer's features read sentences across the hits' documents, which live on several shards).
Questions are read as typed (`prepare_question`), without one corpus vocabulary's corrections.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.index.store import load_index
from qa.query.engine import passage
from qa.query.question import DEFAULT_MODE, prepare_question, resolve_mode
from qa.query.retrieve import Legs, RetrievalParams, fuse_legs, search_legs
from qa.types import Hit, Passage

POSITION_BITS = 20  # a key is (corpus row << 20) | place in the document: up to ~1 M chunks a document


class Shard:
    """One shard's index, where it is loaded (this process or a Ray actor)."""

    def __init__(self, folder: str, doc_rows: tuple[int, ...]):
        self.data = load_index(Path(folder))
        if len(doc_rows) != len(self.data.docs):
            raise ValueError(f"{folder} holds {len(self.data.docs)} documents, shards.json lists {len(doc_rows)}")
        first: dict[int, int] = {}
        keys = np.empty(len(self.data.chunks), dtype=np.int64)
        for row, c in enumerate(self.data.chunks):
            place = row - first.setdefault(c.doc, row)
            keys[row] = (doc_rows[c.doc] << POSITION_BITS) | place
        self.keys = keys
        self.row_of = {int(k): r for r, k in enumerate(keys)}

    def manifest(self) -> dict:
        return self.data.manifest

    def legs(self, question: str, q_vec: np.ndarray | None, mode: str, depth: int) -> Legs:
        """This shard's top lists, rows given as global keys."""
        legs = search_legs(self.data, question, q_vec, mode, depth)
        return {leg: (self.keys[rows], scores) for leg, (rows, scores) in legs.items()}

    def passages(self, hits: list[Hit]) -> list[Passage]:
        """The passages of hits whose chunk (a global key) is this shard's."""
        return [passage(self.data, replace(h, chunk=self.row_of[h.chunk])) for h in hits]


def merge_legs(per_shard: list[Legs], depth: int) -> Legs:
    """Each leg's shard lists as one, by (score desc, key asc), ``depth`` long.

    >>> a = {"bm25": (np.array([5, 9]), np.array([2.0, 1.0], dtype=np.float32))}
    >>> b = {"bm25": (np.array([7]), np.array([2.0], dtype=np.float32))}
    >>> merge_legs([a, b], 2)["bm25"][0].tolist()
    [5, 7]
    """
    out: Legs = {}
    for leg in sorted({leg for legs in per_shard for leg in legs}):
        parts = [legs[leg] for legs in per_shard if leg in legs]
        keys = np.concatenate([k for k, _ in parts])
        scores = np.concatenate([s for _, s in parts])
        order = np.lexsort((keys, -scores))[:depth]
        out[leg] = (keys[order], scores[order])
    return out


class LocalPool:
    """Every shard in this process, searched from a thread each (numpy and FAISS release the GIL)."""

    def __init__(self, folders: list[tuple[str, tuple[int, ...]]]):
        self.shards = [Shard(f, rows) for f, rows in folders]
        self._pool = ThreadPoolExecutor(max_workers=len(self.shards), thread_name_prefix="qa-shard")

    def call(self, method: str, *args) -> list:
        return list(self._pool.map(lambda s: getattr(s, method)(*args), self.shards))

    def call_one(self, shard: int, method: str, *args):
        return getattr(self.shards[shard], method)(*args)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


@dataclass
class ShardedResult:
    hits: list[Hit]  # chunks named by global key
    passages: list[Passage]
    timings_ms: dict[str, float]


class ShardedSearch:
    """Retrieval over a sharded index; ``pool`` runs the shards (`LocalPool` or a Ray pool)."""

    def __init__(self, pool, embedder=None, retrieval: RetrievalParams = RetrievalParams(), mode: str = DEFAULT_MODE):
        self.pool, self.embedder, self.retrieval, self.mode = pool, embedder, retrieval, resolve_mode(mode)
        manifests = pool.call("manifest")
        vector_ids = {m.get("vector_id") for m in manifests}
        if len(vector_ids) != 1:
            raise ValueError("the shards' vectors come from different encoders; rebuild the sharded index")
        self.manifest = manifests[0]

    def search(self, question: str, top_k: int = 5, mode: str | None = None,
               q_vec: np.ndarray | None = None) -> ShardedResult:
        mode = resolve_mode(mode) if mode else self.mode
        _, q = prepare_question(question)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        if q_vec is None and mode != "bm25" and self.embedder is not None:
            q_vec = self.embedder.embed_query(q)
        timings["embed"] = (time.perf_counter() - t) * 1000
        depth = max(self.retrieval.depth, top_k)
        t = time.perf_counter()
        per_shard = self.pool.call("legs", q, q_vec, mode, depth)
        timings["shards"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        hits = fuse_legs(merge_legs(per_shard, depth), mode, self.retrieval, depth)
        timings["fuse"] = (time.perf_counter() - t) * 1000
        return ShardedResult(hits, self._passages(per_shard, hits[:top_k]), timings)

    def _passages(self, per_shard: list[Legs], hits: list[Hit]) -> list[Passage]:
        owner = {int(k): s for s, legs in enumerate(per_shard) for keys, _ in legs.values() for k in keys}
        out: dict[int, Passage] = {}
        for s in sorted({owner[h.chunk] for h in hits}):
            mine = [h for h in hits if owner[h.chunk] == s]
            out.update(zip((h.chunk for h in mine), self.pool.call_one(s, "passages", mine)))
        return [out[h.chunk] for h in hits]
