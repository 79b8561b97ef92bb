"""Benchmark: index a corpus, then time `ask` in process and over HTTP, printing figures.

    .venv/bin/python benchmarks/bench.py corpus/                                # bundled corpus
    .venv/bin/python benchmarks/bench.py ../shared/data/medquad-cancergov --out index/medquad-cancergov
    .venv/bin/python benchmarks/bench.py ../shared/data/medquad --out index/medquad --encoder onnx
    .venv/bin/python benchmarks/bench.py ../shared/data/medquad --existing index/medquad   # ask only

Never a pass/fail test: it prints. A BEIR suite folder is indexed from its corpus.jsonl and asked
its own queries; a plain folder is asked built-in clinician questions. Prints:

- the machine (cores, CPU model) and library versions;
- indexing: wall time, chunks/s, seconds by stage (read, chunk = sentence split + chunking,
  split = chunk texts and content keys, embed, bm25, faiss, write), peak RSS, size on disk, and
  the raw encoder's throughput on a sample of the same texts, so pipeline overhead is a ratio;
- the encoders chosen for this machine (`qa.embed.choice`: questions, index batches) and why;
- `ask` in process: p50/p95/p99, by stage, with the question encoder qa would choose here unless
  ``--ask-encoder`` says otherwise (either encoder searches an index built by the other);
- `POST /v1/ask` over HTTP against a real `qa serve`: sequential and with 8 concurrent clients,
  p50/p95/p99 and the server's stages, and the server's RSS while serving.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from importlib import metadata
from pathlib import Path

from common import cpu, pct, start_server  # benchmarks/ is on sys.path
from http_latency import phases, rss_mb

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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    libs = []
    for p in ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "numba", "onnxruntime", "fastapi", "uvicorn"):
        try:
            libs.append(f"{p} {metadata.version(p)}")
        except metadata.PackageNotFoundError:
            pass
    return f"{cpu()}; Python {platform.python_version()}; {', '.join(libs)}"


def build(src: Path, out: Path, embedder, sample_n: int = 1024) -> None:
    from qa.index.build import build_index

    t = time.perf_counter()
    stats = build_index(src, out, embedder, reuse=False)
    wall = time.perf_counter() - t
    size = sum(p.stat().st_size for p in out.resolve().rglob("*") if p.is_file())
    print(f"index: {stats.documents} docs, {stats.chunks} chunks, {stats.sentences} sentences "
          f"({stats.embedded} distinct texts embedded), {wall:.1f} s wall ({stats.chunks / wall:.0f} chunks/s), "
          f"{size / 1e6:.1f} MB on disk, peak RSS while indexing {peak_rss_mb():.0f} MB")
    print("index stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stats.seconds.items()))
    raw_encoder(out, embedder, stats.embedded / stats.seconds["embed"], stats.embedded / wall, sample_n)


def raw_encoder(index: Path, embedder, pipeline: float, whole: float, sample_n: int = 1024) -> None:
    """The bare encoder on a sample of the very texts the pipeline embedded (same chunk/sentence mix)."""
    from qa.index.build import _split, chunk_embed_text
    from qa.ingest.chunk import ChunkParams
    from qa.index.store import load_index

    data = load_index(index)
    chunk_texts = [chunk_embed_text(data.docs[c.doc], c, data.chunk_text(c)) for c in data.chunks]
    _, _, sent_texts = _split(data.docs, ChunkParams(**data.manifest["chunking"]))
    # the pipeline embeds each distinct text once; sample those, or repeated short sentences
    # (boilerplate) would make the raw encoder look faster than the mix the pipeline really ran
    chunk_texts, sent_texts = list(dict.fromkeys(chunk_texts)), list(dict.fromkeys(sent_texts))
    if not data.has_sentence_vectors:
        sent_texts = []
    every = max(1, (len(chunk_texts) + len(sent_texts)) // sample_n)
    sample = chunk_texts[::every] + sent_texts[::every]
    del data, chunk_texts, sent_texts
    t = time.perf_counter()
    embedder.embed(sample)
    raw = len(sample) / (time.perf_counter() - t)
    print(f"encoder ({type(embedder).__name__}): raw {raw:.1f} texts/s on {len(sample)} of the same texts; "
          f"pipeline embed stage {pipeline:.1f} texts/s (ratio {pipeline / raw:.2f}); whole build {whole:.1f} "
          f"texts/s (ratio {whole / raw:.2f})")


def ask_in_process(index: Path, embedder, questions: list[str]) -> None:
    from qa.query.engine import Engine

    engine = Engine.load(index, embedder)
    for q in questions[:5]:
        engine.ask(q)  # warm-up: lazy loading, numba, caches
    per_stage: dict[str, list[float]] = {}
    totals = []
    for q in questions:
        t = time.perf_counter()
        a = engine.ask(q)
        totals.append((time.perf_counter() - t) * 1000)
        for k, v in a.timings_ms.items():
            per_stage.setdefault(k, []).append(v)
    print(f"ask in process ({type(embedder).__name__}, {len(totals)} questions): p50 {pct(totals, 50):.1f} ms, "
          f"p95 {pct(totals, 95):.1f} ms, p99 {pct(totals, 99):.1f} ms")
    print("ask stages p50/p95 (ms): " + ", ".join(f"{k} {pct(v, 50):.2f}/{pct(v, 95):.2f}" for k, v in per_stage.items()))
    print(f"RSS of this process with the engine loaded: {rss_mb(os.getpid()):.0f} MB")


def naive_floor(questions: list[str]) -> tuple[float, float]:
    """(p50, p95 ms) of the naive encoder: plain `SentenceTransformer(...).encode(question)`, one torch
    thread, one question at a time; issue 15 states its goals as ratios to it, measured in the same run."""
    import torch
    from sentence_transformers import SentenceTransformer

    from qa.embed.model import resolve_model_path

    st = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu", local_files_only=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for q in questions[:10]:
            st.encode(q, show_progress_bar=False)
        ms = []
        for q in questions:
            t = time.perf_counter()
            st.encode(q, show_progress_bar=False)
            ms.append((time.perf_counter() - t) * 1000)
    finally:
        torch.set_num_threads(threads)
    print(f"naive floor (SentenceTransformer.encode, 1 thread, {len(ms)} questions): p50 {pct(ms, 50):.1f} ms, "
          f"p95 {pct(ms, 95):.1f} ms")
    return pct(ms, 50), pct(ms, 95)


def ratios(naive: tuple[float, float], http: dict) -> None:
    """Issue 15's bars as ratios to the naive floor of this run (they hold on a noisy machine)."""
    cores = os.cpu_count() or 1
    floor_per_s = cores * 1000 / naive[0]
    print(f"ratios to the naive floor: sequential POST p95 / naive p95 = {http['sequential_p95_ms'] / naive[1]:.2f} "
          f"(goal <= 0.5); concurrent answers/s / ({cores} cores x 1000 / naive p50 = {floor_per_s:.0f}/s) = "
          f"{http['concurrent_per_s'] / floor_per_s:.2f} (goal >= 1.5); server RSS {http.get('rss_mb', float('nan')):.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path, help="a corpus folder or file, or a BEIR suite folder")
    ap.add_argument("--out", type=Path, default=None, help="index folder to build (default: a temp dir)")
    ap.add_argument("--existing", type=Path, default=None, help="skip indexing; measure asking on this index")
    ap.add_argument("--encoder", default="auto", help="indexing encoder: auto (qa's choice here), torch or onnx")
    ap.add_argument("--ask-encoder", default="auto", help="question encoder: auto (qa's choice here), torch or onnx")
    ap.add_argument("--questions", type=int, default=200, help="questions asked in process")
    ap.add_argument("--http", type=int, default=200, help="requests per HTTP phase (0: skip HTTP)")
    ap.add_argument("--concurrency", type=int, default=8)
    # 300 concurrent requests took ~1.5 s: too short to hold still on a shared machine
    ap.add_argument("--concurrent-requests", type=int, default=800, help="requests in the concurrent phase")
    ap.add_argument("--server-concurrency", type=int, default=4, help="QA_MAX_CONCURRENCY of the server (per worker)")
    ap.add_argument("--workers", default="1", help="server processes (QA_WORKERS); a comma list measures each, "
                    "against the same naive floor (e.g. 1,2)")
    ap.add_argument("--encoder-sample", type=int, default=1024)
    args = ap.parse_args()

    from qa.embed import encoder_for, load_embedder
    from qa.embed.choice import BF16_FLAGS, cpu_flags

    src = args.corpus / "corpus.jsonl" if (args.corpus / "corpus.jsonl").exists() else args.corpus
    print(f"machine: {machine()}")
    bf16 = sorted(cpu_flags() & set(BF16_FLAGS))
    print(f"encoders (qa.embed.choice): questions {encoder_for('question', args.ask_encoder)}, "
          f"index {encoder_for('index', args.encoder)} (bf16 hardware: {', '.join(bf16) or 'none'})")
    index = args.existing
    if index is None:
        index = args.out or Path(tempfile.mkdtemp()) / "index"
        build(src, index, load_embedder(encoder=args.encoder, role="index"), args.encoder_sample)

    questions = QUESTIONS
    qfile = args.corpus / "queries.jsonl"
    if qfile.exists():
        questions = [json.loads(line)["text"] for line in qfile.open()]
    questions = (questions * (args.questions // len(questions) + 1))[: args.questions]
    ask_in_process(index, load_embedder(encoder=args.ask_encoder, role="question"), questions)
    naive = naive_floor(questions)

    for workers in [int(w) for w in args.workers.split(",")] if args.http else []:
        proc, url = start_server(str(index), {"QA_QUESTION_ENCODER": args.ask_encoder,
                                              "QA_MAX_CONCURRENCY": str(args.server_concurrency),
                                              "QA_QUEUE_TIMEOUT_S": "30", "QA_LOG_LEVEL": "warning",
                                              "QA_WORKERS": str(workers), "QA_FEEDBACK_DB": str(Path(tempfile.mkdtemp()) / "fb.sqlite3")})
        try:
            print(f"HTTP POST /v1/ask ({encoder_for('question', args.ask_encoder)} question encoder, "
                  f"QA_MAX_CONCURRENCY={args.server_concurrency}, "
                  f"QA_WORKERS={workers}):")
            ratios(naive, phases(url, questions, args.http, args.concurrency, proc.pid, args.concurrent_requests))
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
