"""Benchmark: index a corpus and time `ask`, printing figures (never a pass/fail test).

    .venv/bin/python benchmarks/bench.py corpus/                                # bundled corpus
    .venv/bin/python benchmarks/bench.py ../shared/data/medquad-cancergov --questions 200

A BEIR suite folder is indexed from its corpus.jsonl and asked its own queries; a plain folder is
asked the built-in clinician questions. Prints indexing time by stage, the raw encoder throughput
on a sample of the same texts (so pipeline overhead shows as a ratio), index size, peak RSS, and
ask latency p50/p95/p99 by stage, with the machine and library versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path

from common import pct  # benchmarks/ is on sys.path

QUESTIONS = [
    "FLT3-ITD AML starting 7+3: what do I add, and on which days?",
    "IT methotrexate dose for a 2 year old?",
    "leukapheresis ok in suspected APL?",
    "HiDAC schedule for favourable-risk AML consolidation",
    "how often is KMT2A rearranged in infant ALL",
    "unfit elderly AML first line?",
    "first-line treatment for type 2 diabetes?",
    "6-yr OS for high-risk infant ALL",
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(f"{p} {metadata.version(p)}" for p in ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "numba"))
    return f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; {libs}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument("--out", type=Path, default=None, help="index folder (default: a temp dir)")
    ap.add_argument("--encoder-sample", type=int, default=1024)
    ap.add_argument("--encoder", default=None, help="torch (default) or onnx")
    args = ap.parse_args()

    from qa.build import build_index
    from qa.embed import load_embedder
    from qa.engine import Engine

    src = args.corpus / "corpus.jsonl" if (args.corpus / "corpus.jsonl").exists() else args.corpus
    out = args.out or Path(tempfile.mkdtemp()) / "index"
    print(f"machine: {machine()}")
    embedder = load_embedder(encoder=args.encoder)
    t = time.perf_counter()
    stats = build_index(src, out, embedder, reuse=False)
    wall = time.perf_counter() - t
    size = sum(p.stat().st_size for p in out.resolve().rglob("*") if p.is_file())
    texts = stats.embedded
    print(f"index: {stats.documents} docs, {stats.chunks} chunks, {stats.sentences} sentences, "
          f"{wall:.1f} s wall ({stats.chunks / wall:.0f} chunks/s), {size / 1e6:.1f} MB on disk, "
          f"peak RSS {rss_mb():.0f} MB")
    print("index stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stats.seconds.items()))

    from qa.build import _split, chunk_embed_text
    from qa.chunk import ChunkParams
    from qa.store import load_index

    data = load_index(out)
    # the raw encoder on the very texts the pipeline embedded (chunks and sentences, same mix),
    # so the ratio shows pipeline overhead and nothing else
    chunk_texts = [chunk_embed_text(data.docs[c.doc], c, data.chunk_text(c)) for c in data.chunks]
    _, _, sent_texts = _split(data.docs, ChunkParams(**data.manifest["chunking"]))
    every = max(1, (len(chunk_texts) + len(sent_texts)) // args.encoder_sample)
    sample = chunk_texts[::every] + sent_texts[::every]
    t = time.perf_counter()
    embedder.embed(sample)
    raw = len(sample) / (time.perf_counter() - t)
    pipeline = texts / stats.seconds["embed"] if stats.seconds.get("embed") else float("nan")
    print(f"encoder: raw {raw:.0f} texts/s on {len(sample)} of the same texts; in the pipeline's embed stage "
          f"{pipeline:.0f} texts/s (ratio {pipeline / raw:.2f}); whole build {texts / wall:.0f} texts/s "
          f"(ratio {texts / wall / raw:.2f})")

    questions = QUESTIONS
    qfile = args.corpus / "queries.jsonl"
    if qfile.exists():
        questions = [json.loads(line)["text"] for line in qfile.open()][: args.questions]
    questions = (questions * (args.questions // len(questions) + 1))[: args.questions]
    engine = Engine(data, embedder)
    engine.ask(questions[0])  # warm-up
    per_stage: dict[str, list[float]] = {}
    totals = []
    for q in questions:
        t = time.perf_counter()
        a = engine.ask(q)
        totals.append((time.perf_counter() - t) * 1000)
        for k, v in a.timings_ms.items():
            per_stage.setdefault(k, []).append(v)
    print(f"ask (in process, {len(totals)} questions): p50 {pct(totals, 50):.1f} ms, p95 {pct(totals, 95):.1f} ms, "
          f"p99 {pct(totals, 99):.1f} ms, median {statistics.median(totals):.1f} ms")
    print("ask stages p50/p95 (ms): " + ", ".join(
        f"{k} {pct(v, 50):.2f}/{pct(v, 95):.2f}" for k, v in per_stage.items()))
    print(f"RSS after serving questions: {rss_mb():.0f} MB (peak)")


if __name__ == "__main__":
    main()
