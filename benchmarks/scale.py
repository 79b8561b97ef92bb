"""Synthetic scale: retrieval latency and recall at 100k and 1M chunks, no encoding.

    .venv/bin/python benchmarks/scale.py index/medquad --sizes 100000,1000000
    .venv/bin/python benchmarks/scale.py index/medquad --real --questions ../shared/data/medquad/queries.jsonl --sizes ""

Takes a real index's chunk vectors and BM25 texts and multiplies them to each size: every copy
of a vector gets Gaussian noise (sigma 0.02 a dimension, cosine ~0.93 to its original) and is
re-normalised, so copies are near neighbours but not ties. Queries are real sentence vectors
of the index, perturbed the same way. Prints, per size: the vector index kind qa would choose,
build seconds, p50/p95 of BM25, dense and fusion (hybrid-weighted, the default) per query and of
their sum, and dense recall@10 against exact (flat) search.

With --serving-rss, each size's dense index is also saved and searched by a fresh process twice,
read into memory and memory-mapped (`VectorIndex.load(mmap=...)`, what a server does), and each
prints its RSS after loading and after the queries (anonymous and file-backed pages apart: mapped
pages are file-backed, shared and dropped by the kernel under pressure), dense p50/p95 and
recall@10 against exact search:

    .venv/bin/python benchmarks/scale.py /tmp/qa/mqc --sizes 1000000 --serving-rss
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import pct  # benchmarks/ is on sys.path


def noisy(base: np.ndarray, n: int, rng, sigma=0.02) -> np.ndarray:
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        rows = base[np.arange(lo, hi) % len(base)]
        block = rows + rng.standard_normal(rows.shape, dtype=np.float32) * sigma
        out[lo:hi] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def real_ivf_recall(data, queries_file: str | None, n_queries: int) -> None:
    """IVF against exact search on *real* MiniLM vectors: every chunk and sentence vector of the index.

    Synthetic copies say little about IVF recall (clusters of near-duplicates); this uses the real
    distribution. Queries are real questions from ``queries_file`` encoded by the model, or else
    held-out sentence vectors.
    """
    import faiss

    from qa.query.normalize import expand_question
    from qa.index.vectors import VectorIndex

    vecs = np.concatenate([data.vectors.reconstruct_all(), data.sentence_vectors]).astype(np.float32)
    rng = np.random.default_rng(1)
    if queries_file:
        import json

        from qa.embed import load_embedder

        texts = [json.loads(line)["text"] for line in open(queries_file)]
        texts = [texts[i] for i in rng.choice(len(texts), size=min(n_queries, len(texts)), replace=False)]
        queries = load_embedder(role="question").embed_queries([expand_question(t) for t in texts])  # as qa ask does
        what = f"{len(texts)} real questions from {queries_file}"
    else:
        held = rng.choice(len(vecs), size=n_queries, replace=False)
        queries, vecs = vecs[held], np.delete(vecs, held, axis=0)
        what = f"{n_queries} held-out vectors of the index"
    t = time.perf_counter()
    ivf = VectorIndex.build(vecs, kind="ivf")
    built = time.perf_counter() - t
    exact = faiss.IndexFlatIP(vecs.shape[1])
    exact.add(vecs)
    _, truth = exact.search(queries, 10)
    lat, recall = [], []
    for q, gt in zip(queries, truth):
        t0 = time.perf_counter()
        rows, _ = ivf.search(q, 10)
        lat.append((time.perf_counter() - t0) * 1000)
        recall.append(len(set(rows.tolist()) & set(gt.tolist())) / 10)
    print(f"real vectors: IVF ({ivf.storage}) over {len(vecs):,} real MiniLM vectors (chunks + sentences), nlist "
          f"{ivf.index.nlist}, nprobe {ivf.index.nprobe}, built {built:.0f} s; {what}: recall@10 vs exact "
          f"{np.mean(recall):.3f} (min {np.min(recall):.1f}), search p50 {pct(lat, 50):.2f} / p95 {pct(lat, 95):.2f} ms")
    flat_storage(vecs, queries, truth)


def flat_storage(vecs: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> None:
    """Flat search in float16 (qa's default) against float32 over the same real vectors, interleaved
    question by question so a noisy machine slows both alike: recall@10 vs exact and latency."""
    from qa.index.vectors import VectorIndex

    ix = {s: VectorIndex.build(vecs, kind="flat", storage=s) for s in ("fp32", "fp16")}
    lat: dict[str, list[float]] = {s: [] for s in ix}
    recall = []
    for q, gt in zip(queries, truth):
        for s, index in ix.items():
            t0 = time.perf_counter()
            rows, _ = index.search(q, 10)
            lat[s].append((time.perf_counter() - t0) * 1000)
            if s == "fp16":
                recall.append(len(set(rows.tolist()) & set(gt.tolist())) / 10)
    ratio = pct(lat["fp32"], 50) / pct(lat["fp16"], 50)
    print(f"real vectors, flat: fp16 recall@10 vs exact fp32 {np.mean(recall):.4f} (min {np.min(recall):.1f}); "
          f"search p50 / p95 fp32 {pct(lat['fp32'], 50):.2f} / {pct(lat['fp32'], 95):.2f} ms, "
          f"fp16 {pct(lat['fp16'], 50):.2f} / {pct(lat['fp16'], 95):.2f} ms (fp32/fp16 p50 = {ratio:.2f}); "
          f"{vecs.shape[1] * 4} vs {vecs.shape[1] * 2} bytes a vector")


def rss_mb() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def serving_child(path: str, queries: str, truth: str, mmap: bool) -> None:
    """In a fresh process: load the saved dense index as a server does, search, print JSON."""
    from qa.index.vectors import VectorIndex

    before = rss_mb()
    dense = VectorIndex.load(Path(path), mmap=mmap)
    loaded = rss_mb()
    qs, gt, passes, recall = np.load(queries), np.load(truth), [], []
    for _ in range(2):  # the first pass pays for first touches (page faults of mapped lists), the second not
        lat = []
        for q, g in zip(qs, gt):
            t = time.perf_counter()
            rows, _ = dense.search(q, 50)
            lat.append((time.perf_counter() - t) * 1000)
            recall.append(len(set(rows[:10].tolist()) & set(g.tolist())) / 10)
        passes.append((pct(lat, 50), pct(lat, 95)))
    print(json.dumps({"before": before, "loaded": loaded, "after": rss_mb(), "passes": passes,
                      "recall": float(np.mean(recall))}))


def serving_rss(dense, queries: np.ndarray, truth: np.ndarray, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = [os.path.join(tmp, f) for f in ("dense.faiss", "q.npy", "t.npy")]
        dense.save(Path(files[0]))
        np.save(files[1], queries)
        np.save(files[2], truth)
        for mmap in (False, True):
            out = subprocess.run([sys.executable, __file__, "--child", *files, "--mmap" if mmap else "--read"],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            grown = {k: r["after"][k] - r["before"][k] for k in r["after"]}
            print(f"{n:>9,} chunks, serving process, vectors {'memory-mapped' if mmap else 'read in'}: dense index "
                  f"adds {grown['VmRSS']:.0f} MB RSS after {len(queries)} queries ({grown['RssAnon']:.0f} MB anonymous, "
                  f"{grown['RssFile']:.0f} MB file-backed; {r['loaded']['VmRSS'] - r['before']['VmRSS']:.0f} MB "
                  f"once loaded), {grown['RssAnon'] * 2**20 / n:.0f} B a chunk anonymous; dense p50 / p95: first pass "
                  + " ms, second pass ".join(f"{a:.2f} / {b:.2f}" for a, b in r["passes"])
                  + f" ms; recall@10 vs exact {r['recall']:.3f}", flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return serving_child(*sys.argv[2:5], mmap=sys.argv[5] == "--mmap")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index", type=Path)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--real", action="store_true", help="also: IVF recall on the index's real vectors")
    ap.add_argument("--questions", help="with --real: a BEIR queries.jsonl to encode as queries")
    ap.add_argument("--serving-rss", action="store_true",
                    help="also: a fresh process's RSS and latency with the vectors read in and memory-mapped")
    args = ap.parse_args()
    from common import cpu

    print(f"machine: {cpu()}", flush=True)

    import faiss

    from qa.query import fuse
    from qa.index.bm25 import BM25Index, tokenize
    from qa.index.build import chunk_embed_text
    from qa.index.store import load_index
    from qa.index.vectors import VectorIndex

    data = load_index(args.index)
    if args.real:
        real_ivf_recall(data, args.questions, args.queries)
    base = data.vectors.reconstruct_all()
    tokens = [tokenize(chunk_embed_text(data.docs[c.doc], c, data.chunk_text(c))) for c in data.chunks]
    rng = np.random.default_rng(0)
    if not data.has_sentence_vectors:
        raise SystemExit(f"{args.index} is a retrieval-only index (no sentence vectors to query with); use a full one")
    qrows = rng.choice(len(data.sentences), size=min(args.queries, len(data.sentences)), replace=False)
    queries = noisy(data.sentence_vectors[qrows], len(qrows), rng)
    qtokens = [tokenize(data.sentence_text(int(i))) for i in qrows]
    print(f"base: {len(base)} real chunks from {args.index}; {len(queries)} queries")
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        vecs = noisy(base, n, rng)
        t = time.perf_counter()
        dense = VectorIndex.build(vecs)
        t_dense = time.perf_counter() - t
        t = time.perf_counter()
        bm25 = BM25Index.build([tokens[i % len(tokens)] for i in range(n)])
        t_bm25 = time.perf_counter() - t
        exact = faiss.IndexFlatIP(vecs.shape[1])
        exact.add(vecs)
        faiss.omp_set_num_threads(2)
        faiss.cvar.distance_compute_blas_threshold = 16  # batched ground truth through BLAS
        _, truth = exact.search(queries, 10)
        del exact
        lat = {"bm25": [], "dense": [], "fuse": [], "total": []}
        recall = []
        for q, qt, gt in zip(queries, qtokens, truth):
            t0 = time.perf_counter()
            b_rows, b_scores = bm25.search(qt, 50)
            t1 = time.perf_counter()
            d_rows, d_scores = dense.search(q, 50)
            t2 = time.perf_counter()
            fuse.weighted(b_rows.tolist(), b_scores.tolist(), d_rows.tolist(), d_scores.tolist())  # the default
            t3 = time.perf_counter()
            for k, v in (("bm25", t1 - t0), ("dense", t2 - t1), ("fuse", t3 - t2), ("total", t3 - t0)):
                lat[k].append(v * 1000)
            recall.append(len(set(d_rows[:10].tolist()) & set(gt.tolist())) / 10)
        print(f"{n:>9,} chunks: {dense.kind} (built {t_dense:.0f} s, BM25 {t_bm25:.0f} s); "
              + ", ".join(f"{k} p50 {pct(v, 50):.2f} / p95 {pct(v, 95):.2f} ms" for k, v in lat.items())
              + f"; dense recall@10 vs exact {np.mean(recall):.3f}; peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if args.serving_rss:
            serving_rss(dense, queries, truth, n)
        del dense, bm25, vecs


if __name__ == "__main__":
    main()
