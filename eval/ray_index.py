"""A Ray-built index against a local build of the same corpus (issue 13 part 1, at suite scale).

Builds CORPUS with `qa index --ray` (the same code: `RayEmbedder` inside `build_index`), then
checks against the local index given: the manifest's inputs to the index_id (everything but the
id, the file list and versions), chunk ids, sentence rows, every vector within 1e-5, and the
answers to every question of a split (the answer contract less answer_id, timings and index_id).
Prints each check, both build times and the machine.

    .venv/bin/qa index ../shared/data/medquad-cancergov/corpus.jsonl --out /tmp/qa/mqc     # the local build
    .venv/bin/python eval/ray_index.py ../shared/data/medquad-cancergov --local /tmp/qa/mqc --ray local
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "eval"))
from common import cpu  # noqa: E402
from sharded import split_questions  # noqa: E402

VOLATILE = ("answer_id", "timings_ms", "index_id")


def ray_cpus() -> float:
    import ray

    return ray.cluster_resources().get("CPU", 0)


def same_index(a, b) -> list[str]:
    """What differs between two loaded indexes (empty: nothing)."""
    fixed = lambda m: {k: v for k, v in m.items() if k not in ("index_id", "files", "versions")}  # noqa: E731
    problems = []
    if fixed(a.manifest) != fixed(b.manifest):
        problems.append("manifest inputs differ")
    if [c.chunk_id for c in a.chunks] != [c.chunk_id for c in b.chunks]:
        problems.append("chunk ids differ")
    if not (a.sentences.as_array() == b.sentences.as_array()).all():
        problems.append("sentence rows differ")
    d_sent = float(np.abs(np.asarray(a.sentence_vectors) - np.asarray(b.sentence_vectors)).max())
    d_chunk = float(np.abs(a.vectors.reconstruct_all() - b.vectors.reconstruct_all()).max())
    print(f"largest vector difference: sentences {d_sent:.2e}, chunks {d_chunk:.2e}", flush=True)
    if max(d_sent, d_chunk) > 1e-5:
        problems.append("vectors differ by more than 1e-5")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("suite", type=Path)
    ap.add_argument("--local", type=Path, required=True, help="the suite's index built without Ray")
    ap.add_argument("--ray", default="local", help="local, auto or HOST:PORT")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--split", default="dev")
    args = ap.parse_args()

    from qa.cluster.embed import RayEmbedder, connect
    from qa.embed import load_embedder
    from qa.index.build import build_index
    from qa.index.store import load_index
    from qa.query.engine import Engine

    print(f"machine: {cpu()}", flush=True)
    local = load_index(args.local)
    out = args.out or args.local.parent / f"{args.local.name}-ray"
    connect(args.ray)
    embedder = RayEmbedder(load_embedder(local.manifest["model"], role="index"))
    t = time.perf_counter()
    stats = build_index(args.suite / "corpus.jsonl", out, embedder, reuse=False)
    print(f"Ray build: {time.perf_counter() - t:.1f} s ({stats.embedded} texts embedded, "
          f"{int(ray_cpus())} CPUs in the cluster)", flush=True)
    problems = same_index(local, load_index(out))
    a, b = Engine.load(args.local), Engine.load(out)
    questions = split_questions(args.suite, args.split)
    strip = lambda ans: {k: v for k, v in ans.to_dict().items() if k not in VOLATILE}  # noqa: E731
    same = sum(strip(a.ask(q)) == strip(b.ask(q)) for q in questions)
    print(f"{args.suite.name} {args.split}: the same answer for {same} of {len(questions)} questions", flush=True)
    if same != len(questions):
        problems.append("answers differ")
    print("identical" if not problems else "DIFFERENT: " + "; ".join(problems), flush=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
