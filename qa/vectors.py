"""Dense retrieval: unit vectors in a FAISS inner-product index (inner product = cosine).

Single queries run with one OpenMP thread: on this 2-core machine two threads made a single
flat search 2x slower (thread start-up dominates a 10k x 384 scan). FAISS pads missing results
with -1; those never leave this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np



def _faiss():
    import faiss

    return faiss


class VectorIndex:
    def __init__(self, index, dim: int):
        self.index, self.dim = index, dim

    @classmethod
    def build(cls, vectors: np.ndarray) -> VectorIndex:
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index, vectors.shape[1])

    def save(self, path: Path) -> None:
        _faiss().write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        index = _faiss().read_index(str(path))
        return cls(index, index.d)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows by inner product, best first (ties by row). ``allowed``: row ids to keep."""
        faiss = _faiss()
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            if len(allowed) == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        faiss.omp_set_num_threads(1)
        scores, ids = self.index.search(q, k, params=params) if params else self.index.search(q, k)
        keep = ids[0] >= 0
        ids, scores = ids[0][keep], scores[0][keep]
        order = np.lexsort((ids, -scores))
        return ids[order].astype(np.int64), scores[order].astype(np.float32)
