"""Fusion tuning on a training split: each leg is run once per question, fusions are re-scored.

    python -m qa.eval.tune ../shared/data/scifact --split train

Prints nDCG@10 (documents, best chunk) for RRF over (depth, k, leg weights) and for weighted
score fusion over (depth, alpha), using the same cached index `qa eval` uses. Tune on train,
report on test: this module never reads another split than the one it is given.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from qa.query import fuse
from qa.index.bm25 import tokenize
from qa.eval import metrics as M
from qa.eval.runner import EvalSettings, load_engine
from qa.eval.suites import load_suite
from qa.query.question import prepare_question


def legs(engine, suite, depth: int):
    out = {}
    for q in suite.queries:
        qx = prepare_question(q.text)[1]
        b_rows, b_scores = engine.data.bm25.search(tokenize(qx), depth)
        d_rows, d_scores = engine.data.vectors.search(engine.encode(qx), depth, None)
        out[q.qid] = (b_rows.tolist(), b_scores.tolist(), d_rows.tolist(), d_scores.tolist())
    return out


def docs_of(engine, hits, depth):
    return M.doc_ranking(engine.data.docs[engine.data.chunks[h.chunk].doc].doc_id for h in hits[:depth])


def score(engine, suite, legs_, fn, depth) -> float:
    runs = {}
    for qid, (br, bs, dr, ds) in legs_.items():
        runs[qid] = docs_of(engine, fn(br[:depth], bs[:depth], dr[:depth], ds[:depth]), depth)
    means, _ = M.ranx_metrics(suite.qrels, runs, ("ndcg@10",))
    return means["ndcg@10"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("suite")
    ap.add_argument("--split", default="train")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    from qa.embed import load_embedders

    suite = load_suite(Path(a.suite), a.split)
    if a.limit:
        suite = suite.limit(a.limit)
    embedder, questions = load_embedders()
    engine, *_ = load_engine(suite, embedder, EvalSettings(), questions=questions)
    depths = [10, 20, 30, 50, 100, 200]
    L = legs(engine, suite, max(depths))
    results = []
    for d in depths:
        results.append({"fusion": "bm25", "depth": d, "ndcg@10": score(engine, suite, L, lambda br, bs, dr, ds: fuse.single(br, bs, "bm25"), d)})
        results.append({"fusion": "dense", "depth": d, "ndcg@10": score(engine, suite, L, lambda br, bs, dr, ds: fuse.single(dr, ds, "dense"), d)})
        for k, wd in itertools.product([1, 5, 10, 20, 30, 60, 100], [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]):
            results.append({"fusion": "rrf", "depth": d, "rrf_k": k, "w_dense": wd, "ndcg@10": score(
                engine, suite, L, lambda br, bs, dr, ds: fuse.rrf(br, dr, k, 1.0, wd), d)})
        for alpha in np.round(np.arange(0.1, 0.95, 0.1), 2):
            results.append({"fusion": "weighted", "depth": d, "alpha": float(alpha), "ndcg@10": score(
                engine, suite, L, lambda br, bs, dr, ds: fuse.weighted(br, bs, dr, ds, float(alpha)), d)})
    results.sort(key=lambda r: -r["ndcg@10"])
    default = next(r for r in results if r["fusion"] == "rrf" and r["depth"] == 50 and r["rrf_k"] == 60 and r["w_dense"] == 1.0)
    print(f"{suite.name}/{suite.split}: {len(suite.queries)} questions; default RRF (depth 50, k 60): {default['ndcg@10']:.4f}")
    for fusion in ("rrf", "weighted", "bm25", "dense"):
        best = [r for r in results if r["fusion"] == fusion][:5]
        for r in best:
            print(json.dumps(r))
    if a.out:
        a.out.write_text(json.dumps({"suite": suite.name, "split": suite.split, "n": len(suite.queries),
                                     "index_id": engine.index_id, "results": results}, indent=1))


if __name__ == "__main__":
    main()
