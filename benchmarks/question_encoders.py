"""Benchmark: the question encoders side by side on this machine, the numbers `qa.embed.choice` rests on.

    .venv/bin/python benchmarks/question_encoders.py                       # medquad questions if ../shared is there
    .venv/bin/python benchmarks/question_encoders.py --questions FILE --n 300

Each encoder answers the same questions one at a time (as `qa ask` and the service do), in two
interleaved rounds so a noisy machine slows both alike; prints the CPU, p50/p95 per round, the
ratio torch / onnx within each round, and the cosine between the two encoders' vectors. Never a
pass/fail test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from common import ROOT, cpu, load_questions, pct

FALLBACK = ["What is the treatment for AML with FLT3?", "midostaurin dosing schedule",
            "intrathecal methotrexate dose for a toddler", "Do I need an echo before anthracyclines?"]


def timed(embedder, questions: list[str]) -> tuple[list[float], np.ndarray]:
    ms, vecs = [], []
    for q in questions:
        t = time.perf_counter()
        vecs.append(embedder.embed_query(q))
        ms.append((time.perf_counter() - t) * 1000)
    return ms, np.array(vecs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = ROOT.parent / "shared" / "data" / "medquad" / "queries.jsonl"
    ap.add_argument("--questions", default=str(default) if default.exists() else None)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from qa.embed import encoder_for, load_embedder

    questions = (load_questions(args.questions, FALLBACK) * args.n)[: args.n]
    print(f"machine: {cpu()}")
    print(f"qa's choice here: questions {encoder_for('question')}, index batches {encoder_for('index')}")
    encoders = {"torch": load_embedder(encoder="torch", role="question"),
                "onnx": load_embedder(encoder="onnx", role="question")}
    for e in encoders.values():
        timed(e, questions[:20])  # warm up: lazy loads, first-shape kernels
    vecs = {}
    for r in range(args.rounds):
        p50 = {}
        for name, e in encoders.items():
            ms, vecs[name] = timed(e, questions)
            p50[name] = pct(ms, 50)
            print(f"round {r + 1} {name:5s} ({type(e).__name__}): {len(ms)} questions, "
                  f"p50 {p50[name]:.2f} ms, p95 {pct(ms, 95):.2f} ms")
        print(f"round {r + 1} torch / onnx p50 = {p50['torch'] / p50['onnx']:.2f}")
    cos = (vecs["torch"] * vecs["onnx"]).sum(1)
    print(f"cosine onnx vs torch: min {cos.min():.4f}, mean {cos.mean():.4f}")


if __name__ == "__main__":
    main()
