"""/v1/ask latency over HTTP against a real `qa serve`: p50/p95 sequential and with N concurrent clients.

    .venv/bin/python benchmarks/http_latency.py --index index/default
    .venv/bin/python benchmarks/http_latency.py --index index/medquad-cancergov \
        --questions ../shared/data/medquad-cancergov/queries.jsonl
    .venv/bin/python benchmarks/http_latency.py --url http://127.0.0.1:8000      # a server already running

Starting its own server, it turns the rate limit off (QA_RATE_LIMIT_PER_MINUTE=0). Latency is
client-side wall time per request (one kept-alive `http.client` connection a client), so it
includes HTTP and JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import threading
import time
from urllib.parse import urlsplit

import httpx

from common import children, load_questions, pct  # benchmarks/ is on sys.path
from common import start_server as start_server_common

DEFAULT_QUESTIONS = [
    "FLT3-ITD AML starting 7+3: what do I add, and on which days?",
    "IT methotrexate dose for a 2 year old?",
    "leukapheresis ok in suspected APL?",
    "ATRA dose in kids if APL suspected",
    "HiDAC schedule for favourable-risk AML consolidation",
    "how often is KMT2A rearranged in infant ALL",
    "unfit elderly AML first line?",
    "6-yr OS for high-risk infant ALL",
    "first-line treatment for type 2 diabetes?",
    "warfarin reversal before surgery",
]


def start_server(index: str, concurrency: int):
    return start_server_common(index, {"QA_MAX_CONCURRENCY": str(concurrency), "QA_QUEUE_TIMEOUT_S": "30",
                                       "QA_LOG_LEVEL": "warning"}, ready_s=180)


def run(url: str, questions: list[str], clients: int, per_client: int,
        stages: dict[str, list[float]] | None = None) -> tuple[list[float], int, float]:
    """(latencies ms, errors, wall s); the server's own per-stage timings go into ``stages``."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    where = urlsplit(url)

    def worker(k: int) -> None:
        # the standard library's keep-alive client: httpx's own work shares the server's cores and
        # was charged to it (one server, two rounds, 2026-12-04, EPYC, 2 cores: sequential p50 12.2
        # and 11.1 ms with httpx, 10.9 and 10.1 with this; 8 clients 115.9 and 116.8 answers/s
        # against 124.5 and 123.5)
        c = http.client.HTTPConnection(where.hostname, where.port or 80, timeout=60)
        try:
            for i in range(per_client):
                body = json.dumps({"question": questions[(k * per_client + i) % len(questions)]})
                t = time.perf_counter()
                c.request("POST", "/v1/ask", body, {"content-type": "application/json"})
                r = c.getresponse()
                data = r.read()
                dt = time.perf_counter() - t
                with lock:
                    if r.status == 200:
                        lat.append(dt * 1000)
                        for name, v in (json.loads(data).get("timings_ms") or {}).items() if stages is not None else ():
                            stages.setdefault(name, []).append(v)
                    else:
                        errors[0] += 1
        finally:
            c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors[0], time.perf_counter() - t0


def rss_mb(pid: int) -> float:
    """Resident memory of a process now (VmRSS), from /proc."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a `qa serve --workers N` parent and its worker processes)."""
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo += children(out[-1])
    return out


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(summed RSS, summed PSS) of ``pid`` and its descendants: RSS counts a page shared by two
    workers (the memory-mapped vectors, the libraries) twice, PSS splits it between them."""
    rss = pss = 0.0
    for p in _tree(pid):
        try:
            rss += rss_mb(p)
            with open(f"/proc/{p}/smaps_rollup") as f:
                pss += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024
        except (OSError, StopIteration):
            pass
    return rss, pss


def phases(url: str, questions: list[str], n: int, concurrency: int, pid: int | None = None,
           concurrent_n: int | None = None) -> dict:
    """Print sequential and concurrent latency (client wall time, and the server's stages); returns
    {"sequential_p95_ms", "concurrent_per_s", "rss_mb"} for ratios."""
    # warm-up on as many connections as the concurrent phase opens: with --workers each worker
    # then has answered (one keep-alive connection always reaches the same worker)
    run(url, questions, concurrency, 10)
    out: dict = {}
    for name, clients in (("sequential", 1), (f"{concurrency} concurrent", concurrency)):
        stages: dict[str, list[float]] = {}
        total = n if clients == 1 else concurrent_n or n
        lat, errors, wall = run(url, questions, clients, max(1, total // clients), stages)
        print(f"{name:>14}: n={len(lat)} p50={statistics.median(lat):.1f} ms p95={pct(lat, 95):.1f} ms "
              f"p99={pct(lat, 99):.1f} ms mean={statistics.fmean(lat):.1f} ms  {len(lat) / wall:.1f} req/s  "
              f"errors={errors}")
        print(" " * 16 + "server stages p50/p95 (ms): " + ", ".join(
            f"{k} {pct(v, 50):.2f}/{pct(v, 95):.2f}" for k, v in stages.items()))
        out["sequential_p95_ms" if clients == 1 else "concurrent_per_s"] = pct(lat, 95) if clients == 1 else len(lat) / wall
    if pid:
        out["rss_mb"], pss = tree_memory_mb(pid)
        print(f"{'server RSS':>14}: {out['rss_mb']:.0f} MB while serving (PSS {pss:.0f} MB; every process of the server)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", help="start `qa serve` on this index")
    where.add_argument("--url", help="use a server already running")
    ap.add_argument("--questions", help="BEIR queries.jsonl or one question a line")
    ap.add_argument("--n", type=int, default=200, help="requests in each phase")
    ap.add_argument("--concurrency", type=int, default=8, help="clients in the concurrent phase")
    ap.add_argument("--server-concurrency", type=int, default=4, help="QA_MAX_CONCURRENCY for a started server")
    args = ap.parse_args()

    proc = None
    url = args.url
    if args.index:
        proc, url = start_server(args.index, args.server_concurrency)
    try:
        questions = load_questions(args.questions, DEFAULT_QUESTIONS)
        info = httpx.get(url + "/v1/readyz").json()
        print(f"index {info.get('index_id')} ({info.get('documents')} documents), {len(questions)} questions, "
              f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
        phases(url, questions, args.n, args.concurrency, proc.pid if proc else None)
    finally:
        if proc:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
