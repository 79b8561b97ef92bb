"""Dense retrieval: unit vectors in a FAISS inner-product index (inner product = cosine).

The index type follows the corpus size. Exact ``IndexFlatIP`` while it is fast enough: one query
scans every vector, 3.7 ms p50 at 29k chunks (MedQuAD) but 32 ms at 100k here, once the vectors
no longer fit in cache and memory bandwidth is the floor. Above `FLAT_MAX` an ``IndexIVFFlat``
with nlist ~ 4 sqrt(n) lists, probing `NPROBE` of them. NPROBE comes from real vectors, not
synthetic ones: over MedQuAD's 200k chunk and sentence vectors, with 300 real questions, recall@10
against exact search was 0.913 at nprobe 48, 0.942 at 96, 0.953 at 128 and 0.964 at 192 (1.2 /
2.1 / 2.7 / 3.9 ms p50); with more lists (larger corpora) the same nprobe recalls more. k-means
training uses a fixed seed and sample, so two builds of one corpus give the same index. An IVF
index keeps the nprobe it was built with (FAISS saves it in dense.faiss) until it is rebuilt.

Vectors are stored in float16 (FAISS's ``QT_fp16`` scalar quantizer, flat or inside the IVF lists):
half the memory and half the bytes a question scans, and no recall lost to speak of (a float16
rounding moves a cosine by ~1e-4; benchmarks/scale.py --real prints recall@10 against exact
float32 search on real vectors). On 29k random 384-d unit vectors, one thread, this Xeon: a flat
top-40 search took 0.88 ms in float16 against 1.67 ms in float32, and 1.05 ms for int8 (``QT_8bit``,
which would also need re-scoring), so float16 it is. Indexes built before (float32) still load.

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


FLAT_MAX = 50_000
NPROBE = 128


def choose_kind(n: int) -> str:
    return "flat" if n <= FLAT_MAX else "ivf"


STORAGE = ("fp16", "fp32")


class VectorIndex:
    def __init__(self, index, dim: int):
        self.index, self.dim = index, dim
        self.is_ivf = hasattr(index, "nprobe")
        if self.is_ivf:
            index.make_direct_map()  # reconstruct_all (vector reuse on a rebuild) reads rows by id

    @property
    def kind(self) -> str:
        return "ivf" if self.is_ivf else "flat"

    @property
    def storage(self) -> str:
        """How the vectors are held: fp16 (a scalar quantizer) or fp32."""
        return "fp16" if hasattr(self.index, "sq") else "fp32"

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto", nprobe: int = NPROBE, storage: str = "fp16") -> VectorIndex:
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = vectors.shape
        kind = choose_kind(n) if kind == "auto" else kind
        if storage not in STORAGE:
            raise ValueError(f"unknown vector storage {storage!r}; one of {', '.join(STORAGE)}")
        fp16, ip = faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        if kind == "flat":
            index = faiss.IndexScalarQuantizer(d, fp16, ip) if storage == "fp16" else faiss.IndexFlatIP(d)
        elif kind == "ivf":
            nlist = max(1, min(n // 39, int(4 * np.sqrt(n))))  # FAISS wants >= 39 points per list
            index = (faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(d), d, nlist, fp16, ip) if storage == "fp16"
                     else faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, ip))
            rng = np.random.default_rng(0)
            sample = vectors[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
            index.cp.seed = 1234
            index.train(sample)
            index.nprobe = min(nprobe, nlist)
        else:
            raise ValueError(f"unknown vector index kind {kind!r}")
        if not index.is_trained:  # the fp16 quantizer has nothing to learn, but FAISS asks for the call
            index.train(vectors[:1])
        index.add(vectors)
        return cls(index, d)

    def reconstruct_all(self) -> np.ndarray:
        return self.index.reconstruct_n(0, self.size)

    def save(self, path: Path) -> None:
        _faiss().write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> VectorIndex:
        """``mmap``: map the vectors from the file instead of reading them into memory, so a server
        holds only the pages its searches touch (an IVF's probed lists) and the kernel may drop
        them under pressure: FAISS's IO_FLAG_MMAP for an IVF's lists, IO_FLAG_MMAP_IFC for a flat
        index's codes (each flag is ignored by the other kind, hence the file's fourcc decides:
        IVF indexes' start with "Iw"). Read-only: a loaded index is never added to."""
        faiss = _faiss()
        flags = 0
        if mmap:
            with open(path, "rb") as f:
                flags = faiss.IO_FLAG_MMAP if f.read(2) == b"Iw" else faiss.IO_FLAG_MMAP_IFC
        index = faiss.read_index(str(path), flags)
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
            sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            # IVF: probe every list, so allowed rows in lists a few probes would skip are still scored,
            # and score them in place (no copy of the allowed vectors: ~1.4 GB for a broad filter at 1 M)
            params = (faiss.SearchParametersIVF(sel=sel, nprobe=self.index.nlist) if self.is_ivf
                      else faiss.SearchParameters(sel=sel))
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one thread per query: two were 2x slower here (README)
        try:
            scores, ids = self.index.search(q, k, params=params) if params else self.index.search(q, k)
        finally:
            faiss.omp_set_num_threads(before)  # the caller's threads (index builds, benchmarks) stay theirs
        keep = ids[0] >= 0
        ids, scores = ids[0][keep], scores[0][keep]
        order = np.lexsort((ids, -scores))
        return ids[order].astype(np.int64), scores[order].astype(np.float32)

