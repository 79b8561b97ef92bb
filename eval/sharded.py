"""Sharded search against the unsharded index on a suite's questions (issue 13 part 3).

Builds the suite's corpus as S shards (reusing the unsharded index's vectors by content key, so
only BM25, FAISS and the files are rebuilt), then asks every question of the split both ways and
counts the questions whose top 10 (chunk ids, in order) are the same. Prints the share, the
per-question latency of each, and the machine.

    .venv/bin/python eval/sharded.py ../shared/data/medquad-cancergov --index /tmp/qa/mqc --split dev --shards 3
    .venv/bin/python eval/sharded.py ... --ray local      # one Ray actor a shard instead of threads
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import cpu  # noqa: E402


def split_questions(suite: Path, split: str) -> list[str]:
    with (suite / "qrels" / f"{split}.tsv").open() as f:
        ids = {row[0] for row in csv.reader(f, delimiter="\t") if row and row[0] != "query-id"}
    return [q["text"] for q in map(json.loads, (suite / "queries.jsonl").open()) if q["_id"] in ids]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("suite", type=Path)
    ap.add_argument("--index", type=Path, required=True, help="the suite's unsharded index (qa index)")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="where the sharded index goes (default: beside --index)")
    ap.add_argument("--ray", default=None, help="search the shards on Ray actors (local, auto or HOST:PORT)")
    args = ap.parse_args()

    from qa.embed import load_embedder
    from qa.index.shards import build_sharded, open_shards
    from qa.query.engine import Engine
    from qa.query.question import prepare_question
    from qa.query.sharded import LocalPool, ShardedSearch

    print(f"machine: {cpu()}", flush=True)
    out = args.out or args.index.parent / f"{args.index.name}-shards{args.shards}"
    engine = Engine.load(args.index, vocabulary=False)
    t = time.perf_counter()
    res = build_sharded(args.suite / "corpus.jsonl", out, load_embedder(engine.data.manifest["model"]), args.shards,
                        reuse_from=args.index)
    print(f"built {args.shards} shards in {time.perf_counter() - t:.1f} s "
          f"({sum(r.embedded for r in res)} texts embedded, {sum(r.reused for r in res)} reused): "
          + ", ".join(f"{r.documents} docs / {r.chunks} chunks" for r in res), flush=True)
    shards = open_shards(out)
    if args.ray:
        from qa.cluster.shards import RayPool

        pool = RayPool(shards, args.ray)
    else:
        pool = LocalPool([(str(shards.path(m)), m.doc_rows) for m in shards.members])
    search = ShardedSearch(pool, engine.embedder)
    same, t_one, t_sharded = 0, [], []
    questions = split_questions(args.suite, args.split)
    for question in questions:
        q = prepare_question(question)[1]
        vec = engine.embedder.embed_query(q)
        t0 = time.perf_counter()
        want = [engine.data.chunks[h.chunk].chunk_id for h in engine.retrieve(q, vec, engine.mode, 10)[:10]]
        t1 = time.perf_counter()
        got = [p.chunk_id for p in search.search(question, top_k=10, q_vec=vec).passages]
        t2 = time.perf_counter()
        same += got == want
        t_one.append((t1 - t0) * 1000)
        t_sharded.append((t2 - t1) * 1000)
    n = len(questions)
    print(f"{args.suite.name} {args.split}: top 10 the same for {same} of {n} questions ({same / n:.3f}); "
          f"retrieval p50 {statistics.median(t_one):.2f} ms unsharded, {statistics.median(t_sharded):.2f} ms "
          f"over {args.shards} shards ({'Ray actors' if args.ray else 'threads'}, passages included)", flush=True)
    return 0 if same / n >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
