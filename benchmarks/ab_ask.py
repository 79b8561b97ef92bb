"""Before/after `ask` latency in one run: this checkout against an earlier commit, same index.

    .venv/bin/python benchmarks/ab_ask.py INDEX_DIR --before 155795f --questions ../shared/data/medquad/queries.jsonl

The earlier commit is checked out into a temporary git worktree; both trees run the same timing
loop (`Engine.ask` in process, questions one at a time, warm-up first) in subprocesses, in
alternating rounds (A B A B ...), so drift on a shared machine hits both alike. Prints the CPU,
each side's p50/p95/p99 of the total and of the answer stage, and the ratios. Never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, cpu, pct  # benchmarks/ is on sys.path
LOOP = r"""
import json, sys, time
from pathlib import Path
import qa
from qa.query.engine import Engine
index, qfile, n, skip, tree = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
assert str(Path(qa.__file__).resolve()).startswith(str(Path(tree).resolve())), (qa.__file__, tree)
qs = [json.loads(l)["text"] for l in open(qfile) if l.strip()][skip:skip + n]
eng = Engine.load(Path(index))
for q in qs[:20]:
    eng.ask(q)
out = []
for q in qs:
    a = eng.ask(q)
    out.append((a.timings_ms["total"], a.timings_ms["answer"]))
print(json.dumps(out))
"""


def run(tree: Path, index: Path, questions: Path, n: int, skip: int) -> list[tuple[float, float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("QA_CALIBRATION", None)
    r = subprocess.run([sys.executable, "-c", LOOP, str(index), str(questions), str(n), str(skip), str(tree)],
                       cwd=tree, env=env, capture_output=True, text=True, check=True)
    return [tuple(x) for x in json.loads(r.stdout.strip().splitlines()[-1])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("--before", required=True, help="the commit to compare against")
    ap.add_argument("--questions", type=Path, required=True, help="a BEIR queries.jsonl")
    ap.add_argument("-n", type=int, default=200, help="questions per round")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    print(f"cpu: {cpu()} ({platform.machine()}), python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), a.before], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            res: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for r in range(a.rounds):
                for name, tree in (("before", old), ("after", ROOT)):
                    res[name] += run(tree, a.index.resolve(), a.questions.resolve(), a.n, r * a.n)
                    print(f"round {r + 1} {name}: done", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    rows = {}
    for name, v in res.items():
        tot, ans = [x[0] for x in v], [x[1] for x in v]
        rows[name] = {f"total_p{p}": pct(tot, p) for p in (50, 95, 99)} | {f"answer_p{p}": pct(ans, p) for p in (50, 95)}
        print(f"{name:6s} n={len(v)} " + " ".join(f"{k} {val:.2f} ms" for k, val in rows[name].items()))
    for k in rows["after"]:
        print(f"after - before {k}: {rows['after'][k] - rows['before'][k]:+.2f} ms "
              f"(ratio {rows['after'][k] / rows['before'][k]:.2f})")


if __name__ == "__main__":
    main()
