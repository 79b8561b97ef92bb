"""Benchmark: the index-batch encoders side by side on this machine (what `QA_ENCODER=auto` rests on).

    .venv/bin/python benchmarks/index_encoders.py INDEX [--n 1024] [--rounds 2]

Takes ``--n`` texts an index embeds (chunks and sentences of INDEX, a built qa index, sampled with a
fixed seed), embeds them with each encoder in its index configuration (all cores, batches by
length), in interleaved rounds so a noisy machine slows all alike, and prints the CPU, texts/s per
round, the ratio to the fastest, and each encoder's cosine to torch fp32's vectors. Never a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from common import cpu


def sample_texts(index: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` of the texts the index embedded: its chunks' and sentences' stored text."""
    from qa.index.store import load_index

    data = load_index(index)
    texts = [data.chunk_text(c) for c in data.chunks] + [data.sentence_text(i) for i in range(len(data.sentences))]
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.choice(len(texts), size=min(n, len(texts)), replace=False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index", type=Path)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from qa.embed import encoder_for, load_embedder

    texts = sample_texts(args.index, args.n)
    print(f"machine: {cpu()}")
    print(f"qa's choice here for index batches: {encoder_for('index')}; {len(texts)} texts, "
          f"mean {np.mean([len(t) for t in texts]):.0f} characters")
    encoders = {name: load_embedder(encoder=name, role="index") for name in ("torch", "onnx")}
    for e in encoders.values():
        e.embed(texts[:64])  # warm up: lazy sessions, first-shape kernels
    vecs: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        rate = {}
        for name, e in encoders.items():
            t = time.perf_counter()
            vecs[name] = e.embed(texts)
            rate[name] = len(texts) / (time.perf_counter() - t)
            print(f"round {r + 1} {name:5s} ({type(e).__name__}, {e.precision}): {rate[name]:.1f} texts/s")
        best = max(rate.values())
        print(f"round {r + 1} ratio to the fastest: " + ", ".join(f"{k} {v / best:.2f}" for k, v in rate.items()))
    ref = "torch"
    for name, v in vecs.items():
        cos = (v * vecs[ref]).sum(1)
        print(f"{name} vs {ref} ({encoders[ref].precision}): cosine min {cos.min():.4f}, mean {cos.mean():.4f}")


if __name__ == "__main__":
    main()
