"""Cold start as a new user meets it: `qa ask` end to end in a new process, `qa ask ""`, and `qa serve`
until /v1/readyz answers, each with an empty encoder cache (the first run on a machine) and with
the cache the first run left (every run after).

    .venv/bin/python benchmarks/cold_start.py [--corpus corpus/] [--runs 3]

Prints the CPU, then seconds per case (median of --runs, with the spread). The index is built once
before timing (`qa index` is not part of a cold question). Issue 15's goals: `qa ask` <= 3 s and
the server ready <= 5 s on the bundled corpus.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, ServeProcess, cpu  # noqa: E402

QUESTION = "FLT3-ITD AML going into 7+3: what do I add, and on which days?"
QA = [sys.executable, "-c", "from qa.cli import main; main()"]


def seconds(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    if r.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd[3:])} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return took


def serve_ready(index: Path, env: dict[str, str]) -> float:
    t = time.perf_counter()
    with ServeProcess(index, env=env) as _:
        return time.perf_counter() - t


def report(label: str, runs: list[float]) -> None:
    print(f"{label:<44} {statistics.median(runs):6.2f} s   (runs: {', '.join(f'{x:.2f}' for x in runs)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print("cpu:", cpu())
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "idx"
        env = dict(os.environ, QA_ONNX_CACHE=str(Path(tmp) / "cache-warm"))
        subprocess.run([*QA, "index", args.corpus, "--out", str(index)], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # also leaves the warm cache its encoder (ONNX export or trace)
        cold = []
        for i in range(args.runs):  # a fresh, empty cache each time: the first run on a machine
            cold.append(seconds([*QA, "ask", QUESTION, "--index", str(index)],
                                dict(env, QA_ONNX_CACHE=str(Path(tmp) / f"cache-empty-{i}"))))
        report("qa ask, empty encoder cache", cold)
        report("qa ask, cached encoder", [seconds([*QA, "ask", QUESTION, "--index", str(index)], env)
                                        for _ in range(args.runs)])
        report('qa ask "" (refused before loading)', [seconds([*QA, "ask", "", "--index", str(index)], env)
                                                      for _ in range(args.runs)])
        report("qa serve until ready, cached encoder", [serve_ready(index, env) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
