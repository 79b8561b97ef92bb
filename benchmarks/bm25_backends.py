"""BM25 search: numpy scoring (qa's default below NUMBA_FROM_DOCS chunks) against bm25s's numba
search, on MedQuAD's corpus repeated to the sizes asked for, with the numba compile timed apart.

    .venv/bin/python benchmarks/bm25_backends.py [--repeat 1 10 40] [--questions 300]

Prints the CPU, then per size: build time, numpy p50/p95, numba compile, numba p50/p95, and the
two paths' agreement on the top 50 (ties at the cut may pick different rows; qa picks the lower).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu, pct  # noqa: E402

from qa.index.bm25 import BM25Index, tokenize, top_k_of  # noqa: E402

SUITE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "medquad"


def timed(fn, questions) -> list[float]:
    fn(questions[0])  # warm
    out = []
    for q in questions:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, nargs="+", default=[1, 10], help="corpus copies (5,490 chunks each)")
    ap.add_argument("--questions", type=int, default=300)
    args = ap.parse_args()
    if not SUITE.exists():
        sys.exit(f"needs {SUITE} (../shared beside the checkout)")
    print("cpu:", cpu())
    texts = [json.loads(line)["text"] for line in (SUITE / "corpus.jsonl").open()]
    qs = [tokenize(json.loads(line)["text"]) for line in (SUITE / "queries.jsonl").open()][:args.questions]
    for rep in args.repeat:
        t = time.perf_counter()
        bm = BM25Index.build([tokenize(x) for x in texts] * rep)
        build_s = time.perf_counter() - t
        numpy_ms = timed(lambda q: bm.search(q, 50), qs)
        m = bm.model
        vocab = m.vocab_dict
        m.backend = "numba"
        m.activate_numba_scorer()

        def numba(q):
            r, s = m.retrieve([[x for x in q if x in vocab]], k=50, show_progress=False,
                              backend_selection="numba", n_threads=1)
            return top_k_of(r[0], s[0])

        t = time.perf_counter()
        numba(qs[0])
        compile_s = time.perf_counter() - t
        numba_ms = timed(numba, qs)
        m.backend = "numpy"
        same = np.mean([bm.search(q, 50)[0].tolist() == numba(q)[0].tolist() for q in qs])
        print(f"{bm.n_docs:>9,} chunks: build {build_s:.1f} s | numpy p50 {pct(numpy_ms, 50):.3f} p95 "
              f"{pct(numpy_ms, 95):.3f} ms | numba compile {compile_s:.1f} s, p50 {pct(numba_ms, 50):.3f} "
              f"p95 {pct(numba_ms, 95):.3f} ms | same top 50: {same:.3f}")


if __name__ == "__main__":
    main()
