"""Load and soak against a running `qa serve`, on loopback only, for a bounded time (issue 5).

N asyncio clients (httpx, one keep-alive connection each) ask questions back to back for T seconds;
prints throughput, p50/p95/p99/max latency, status counts and errors (anything but a 200 with an
answer, or a transport error). With --soak it also samples the server's RSS, open fds and threads
from /proc/<pid> every --sample-every seconds and prints their growth (from the first sample after
--warmup seconds to the last).

    # 50 clients x 60 s against the medquad-cancergov index (starts and stops its own server)
    .venv/bin/python benchmarks/load.py --serve index/medquad-cancergov-onnx --clients 50 --duration 60 \\
        --questions ../shared/data/medquad-cancergov/queries.jsonl
    # a 10-minute soak at half that load, with /proc sampling
    .venv/bin/python benchmarks/load.py --serve index/medquad-cancergov-onnx --clients 25 --duration 600 --soak
    # a server already running (the pid is found from the port through /proc, or give --pid)
    .venv/bin/python benchmarks/load.py --url http://127.0.0.1:8000 --clients 50 --duration 60 --soak

Starting its own server (--serve), it turns the rate limit off (all clients share 127.0.0.1) and
passes QA_* variables from the environment through (e.g. QA_ENCODER=onnx, QA_MAX_CONCURRENCY).
Exit status 1 when any request failed, or with --max-rss-growth when RSS grew more than that (%).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from common import load_questions, pct  # benchmarks/ is on sys.path
from common import start_server as start_server_common

DEFAULT_QUESTIONS = [
    "What is adult acute lymphoblastic leukemia?",
    "What are the symptoms of childhood brain stem glioma?",
    "How is breast cancer diagnosed?",
    "What are the treatments for non-small cell lung cancer?",
    "Who is at risk for colorectal cancer?",
    "What is the outlook for neuroblastoma?",
    "What are the stages of Hodgkin lymphoma?",
    "FLT3-ITD AML starting 7+3: what do I add, and on which days?",
    "IT methotrexate dose for a 2 year old?",
    "how often is KMT2A rearranged in infant ALL",
    "signs of melanoma",
    "radiation therapy side effects",
]


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        sys.exit(f"refusing to load-test {host!r}: loopback only (127.0.0.1, ::1 or localhost)")


# -- the server's process: /proc sampling ---------------------------------------------------------

def pid_listening_on(port: int) -> int | None:
    """The pid whose socket listens on `port` (from /proc/net/tcp*; our own user's processes)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def proc_sample(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


# -- the server, when we start it -----------------------------------------------------------------

def start_server(index: str, log_path: Path):
    return start_server_common(index, {"QA_HOST": "127.0.0.1"}, log=log_path,
                               extra_args=("--log-level", "warning"))


# -- the load -------------------------------------------------------------------------------------

async def run_load(url: str, clients: int, duration: float, questions: list[str], pid: int | None,
                   sample_every: float, soak: bool, timeout: float) -> dict:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    degraded = abstained = 0
    samples: list[dict] = []
    t0 = time.monotonic()
    stop_at = t0 + duration

    async def client(n: int, c: httpx.AsyncClient) -> None:
        nonlocal degraded, abstained
        i = n * 7
        while time.monotonic() < stop_at:
            q = questions[i % len(questions)]
            i += 1
            t = time.perf_counter()
            try:
                r = await c.post("/v1/ask", json={"question": q})
                dt = time.perf_counter() - t
                statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1
                d = r.json() if r.status_code == 200 else {}
                if d.get("index_id"):
                    latencies.append(dt)
                    degraded += bool(d.get("degraded"))
                    abstained += bool(d.get("abstained"))
                else:
                    errors.append(f"{r.status_code} {r.text[:160]}")
            except (httpx.HTTPError, ValueError) as e:
                statuses["transport"] = statuses.get("transport", 0) + 1
                errors.append(repr(e)[:160])

    async def sampler() -> None:
        while True:
            s = proc_sample(pid)
            s["t"] = round(time.monotonic() - t0, 1)
            samples.append(s)
            print(f"  t={s['t']:6.1f}s  rss={s['rss_mb']:7.1f} MB  fds={s['fds']:4d}  threads={s['threads']:3d}  "
                  f"answers={len(latencies)}", flush=True)
            if time.monotonic() >= stop_at:
                return
            await asyncio.sleep(min(sample_every, max(0.0, stop_at - time.monotonic())))

    # idle connections expire on the client before the server's keep-alive timeout (QA_KEEP_ALIVE_S, 5 s):
    # equal timeouts race, and a request sent as the server closes the socket fails with ReadError
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as c:
        tasks = [asyncio.create_task(client(n, c)) for n in range(clients)]
        if soak and pid:
            tasks.append(asyncio.create_task(sampler()))
        await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t0
    return {"clients": clients, "duration_s": round(elapsed, 1), "answers": len(latencies),
            "throughput_rps": round(len(latencies) / elapsed, 2),
            "p50_ms": round(pct(latencies, 50) * 1000, 1), "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "p99_ms": round(pct(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
            "statuses": statuses, "errors": len(errors), "error_examples": errors[:5],
            "degraded": degraded, "abstained": abstained, "samples": samples}


def growth(samples: list[dict], warmup: float) -> dict | None:
    after = [s for s in samples if s["t"] >= warmup] or samples
    if len(after) < 2:
        return None
    a, b = after[0], after[-1]
    return {"from_t": a["t"], "to_t": b["t"],
            "rss_mb": [round(a["rss_mb"], 1), round(b["rss_mb"], 1)],
            "rss_growth_pct": round((b["rss_mb"] - a["rss_mb"]) / a["rss_mb"] * 100, 2),
            "rss_max_mb": round(max(s["rss_mb"] for s in after), 1),
            "fds": [a["fds"], b["fds"]], "fds_range": [min(s["fds"] for s in after), max(s["fds"] for s in after)],
            "threads": [a["threads"], b["threads"]],
            "threads_range": [min(s["threads"] for s in after), max(s["threads"] for s in after)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running qa serve on loopback, e.g. http://127.0.0.1:8000")
    where.add_argument("--serve", metavar="INDEX", help="start qa serve on this index (rate limit off), then stop it")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60, help="seconds (at most 3600)")
    ap.add_argument("--questions", help="a file: one question a line, or BEIR queries.jsonl")
    ap.add_argument("--soak", action="store_true", help="sample the server's RSS, fds and threads from /proc")
    ap.add_argument("--pid", type=int, help="the server's pid (default: found from the port)")
    ap.add_argument("--sample-every", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=30.0, help="growth is measured from the first sample after this")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request client timeout (s)")
    ap.add_argument("--max-rss-growth", type=float, help="exit 1 when RSS grew more than this many percent")
    ap.add_argument("--json", help="also write the summary here")
    args = ap.parse_args()
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 3600:
        sys.exit("--clients must be 1..1000 and --duration 0..3600 s")

    proc = None
    if args.serve:
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"qa-load-{os.getpid()}.log"
        proc, url = start_server(args.serve, log_path)
        pid = proc.pid
        print(f"started qa serve (pid {pid}) on {url}; log {log_path}")
    else:
        url = args.url.rstrip("/")
        require_loopback(url)
        pid = args.pid or (pid_listening_on(urlsplit(url).port or 80) if args.soak else None)
        if args.soak and not pid:
            sys.exit("--soak needs the server's pid: give --pid")
    try:
        ready = httpx.get(url + "/v1/readyz", timeout=10).json()
        questions = load_questions(args.questions, DEFAULT_QUESTIONS)
        print(f"index {ready.get('index_id')} ({ready.get('documents')} documents); {args.clients} clients for "
              f"{args.duration:g} s; {len(questions)} questions; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        out = asyncio.run(run_load(url, args.clients, args.duration, questions, pid, args.sample_every, args.soak,
                                   args.timeout))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    out.update(index_id=ready.get("index_id"), documents=ready.get("documents"), cpus=os.cpu_count(),
               python=platform.python_version(), load_average_end=round(os.getloadavg()[0], 2))
    g = growth(out["samples"], args.warmup) if args.soak else None
    out["growth"] = g
    print(f"\n{out['answers']} answers in {out['duration_s']} s from {args.clients} clients: "
          f"{out['throughput_rps']} answers/s; latency p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms, "
          f"p99 {out['p99_ms']} ms, max {out['max_ms']} ms")
    print(f"statuses {out['statuses']}; errors {out['errors']}; degraded {out['degraded']}; "
          f"abstained {out['abstained']}")
    for e in out["error_examples"]:
        print(f"  error: {e}")
    if g:
        print(f"soak (t={g['from_t']}..{g['to_t']} s): RSS {g['rss_mb'][0]} -> {g['rss_mb'][1]} MB "
              f"({g['rss_growth_pct']:+.2f}%, max {g['rss_max_mb']} MB); fds {g['fds'][0]} -> {g['fds'][1]} "
              f"(range {g['fds_range']}); threads {g['threads'][0]} -> {g['threads'][1]} (range {g['threads_range']})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    failed = out["errors"] > 0 or (args.max_rss_growth is not None and g and g["rss_growth_pct"] > args.max_rss_growth)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
