"""The measured inputs of docs/scale.md's cost model (issue 13 part 4), on this machine.

1. The index encoder's throughput on one core and on all cores (distinct texts a second), over
   real chunk and sentence texts of a corpus, batched as a build batches them.
2. What Ray adds: a quarter of the texts and all of them embedded by one Ray actor on one CPU
   (Ray Data `map_batches`, `qa.cluster.embed.RayEmbedder`); the slope between the two is the
   per-text cost once running (against one local core: the per-batch overhead of scheduling and
   the object store's copies), the intercept the fixed cost of a build (the pool's start, a model
   load per actor).
3. The object store's cost per MB: a float32 vector block put and got back by a Ray task.

    .venv/bin/python benchmarks/cluster_costs.py ../shared/data/medquad-cancergov/corpus.jsonl --texts 2048
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu  # noqa: E402


def sample_texts(corpus: Path, n: int) -> list[str]:
    from qa.index.build import _split, chunk_embed_text
    from qa.ingest.chunk import ChunkParams
    from qa.ingest.corpus import read_corpus

    docs = read_corpus(corpus)
    chunks, sentences, contexts = _split(docs, ChunkParams())
    texts = [chunk_embed_text(docs[c.doc], c, docs[c.doc].text[c.start:c.end]) for c in chunks] + contexts
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.choice(len(texts), size=min(n, len(texts)), replace=False)]


def rate(embedder, texts: list[str]) -> float:
    embedder.embed(texts[:64])  # warm up: first shapes, oneDNN kernels
    t = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--texts", type=int, default=2048)
    args = ap.parse_args()
    import os

    import torch

    from qa.embed import load_embedder

    texts = sample_texts(args.corpus, args.texts)
    emb = load_embedder(role="index")
    print(f"machine: {cpu()}; index encoder {emb.encoder} {emb.precision}; {len(texts)} texts "
          f"(mean {np.mean([len(t) for t in texts]):.0f} characters)", flush=True)
    cores = os.cpu_count() or 1
    torch.set_num_threads(1)
    one = rate(emb, texts)
    torch.set_num_threads(cores)
    many = rate(emb, texts)
    print(f"encoder: {one:.1f} texts/s on 1 core, {many:.1f} on {cores} cores ({many / one / cores:.2f} of linear)",
          flush=True)

    import ray

    from qa.cluster.embed import RayEmbedder, connect

    connect("local")
    remote = RayEmbedder(emb, workers=1)
    timed = {}
    for n in (len(texts) // 4, len(texts)):  # every call starts its actor pool (a model load): the slope is per text
        t = time.perf_counter()
        remote.embed(texts[:n])
        timed[n] = time.perf_counter() - t
    (n1, s1), (n2, s2) = sorted(timed.items())
    per_text = (s2 - s1) / (n2 - n1)
    fixed = s1 - n1 * per_text
    per_batch = (per_text - 1 / one) * emb.batch_size * 1000
    print(f"Ray Data, 1 actor on 1 CPU: {1 / per_text:.1f} texts/s once running ({1 / per_text / one:.2f} of one local "
          f"core, {per_batch:.0f} ms more a batch of {emb.batch_size}); {fixed:.1f} s fixed a build "
          "(the actor pool's start and model load)", flush=True)

    block = np.random.default_rng(0).standard_normal((64 * 100, 384), dtype=np.float32)  # 100 batches of vectors
    echo = ray.remote(lambda x: x)
    ray.get(echo.remote(block[:64]))
    t = time.perf_counter()
    ray.get(echo.remote(block))
    mb = block.nbytes / 2**20
    print(f"object store: {mb:.1f} MB of vectors out and back through a task in {(time.perf_counter() - t) * 1000:.0f} ms "
          f"({(time.perf_counter() - t) * 1000 / mb:.1f} ms a MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
