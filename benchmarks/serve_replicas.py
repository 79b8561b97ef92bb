"""`qa serve --ray` under load with a replica killed (issue 13 part 2), on a local two-node cluster.

Starts a Ray head and a second node on free loopback ports (`ray start`, one CPU each by default),
then `qa serve --ray ADDRESS --replicas 2`, checks its answer to the sample question against a
plain `qa serve` on the same index (same JSON, less answer_id and timings), runs N clients for T
seconds, kills one replica's process at T/3, and prints the outcome of every request: 200 at the
first try, 200 after a retry (the client retries a 5xx or a dropped connection up to --retries
times, --backoff seconds apart), or failed. It stops every Ray process on the machine at the end
(`ray stop --force`): run it where no other Ray cluster runs.

    .venv/bin/python benchmarks/serve_replicas.py --index index/default --clients 20 --duration 30
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu, free_port, start_server  # noqa: E402

QUESTION = "FLT3-ITD AML going into 7+3: what do I add, and on which days?"
VENV = Path(sys.executable).parent


def post(url: str, timeout: float = 30.0) -> tuple[int, dict]:
    req = urllib.request.Request(f"{url}/v1/ask", data=json.dumps({"question": QUESTION}).encode(),
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, {}
    except OSError:
        return 0, {}


def strip(a: dict) -> dict:
    return {k: v for k, v in a.items() if k not in ("answer_id", "timings_ms")}


def ray_cmd(*args: str) -> None:
    subprocess.run([str(VENV / "ray"), *args], check=True, capture_output=True, timeout=180)


def replica_pids() -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if b"ServeReplica:qa" in (p / "cmdline").read_bytes():
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def load(url: str, clients: int, duration: float, retries: int, backoff: float) -> tuple[Counter, Counter, list]:
    outcomes, statuses, lat, lock = Counter(), Counter(), [], threading.Lock()
    end = time.monotonic() + duration

    def client():
        while time.monotonic() < end:
            t0, outcome = time.perf_counter(), "failed"
            for attempt in range(retries + 1):
                status, _ = post(url)
                with lock:
                    statuses[status] += 1
                if status == 200:
                    outcome = "200" if attempt == 0 else "retried 200"
                    break
                time.sleep(backoff)
            with lock:
                outcomes[outcome] += 1
                lat.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(duration / 3)
    pids = replica_pids()
    killed = pids[0] if pids else None
    if killed:
        os.kill(killed, signal.SIGKILL)
    print(f"killed replica process {killed} at t={duration / 3:.0f} s (of {len(pids)} replicas)", flush=True)
    for t in threads:
        t.join()
    return outcomes, statuses, lat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default="index/default")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--node-cpus", type=int, default=1)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--backoff", type=float, default=0.5)
    args = ap.parse_args()
    print(f"machine: {cpu()}, {os.cpu_count()} cores", flush=True)
    token = Path(tempfile.mkdtemp()) / "ray-token"  # this cluster's own token (Ray's auth), not ~/.ray's
    token.write_text(secrets.token_hex(32))
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_USAGE_STATS_ENABLED="0")
    env = dict(os.environ, QA_RATE_LIMIT_PER_MINUTE="0", QA_INDEX=str(Path(args.index).absolute()))
    head = free_port()
    address = f"127.0.0.1:{head}"
    serve_proc = plain = None
    try:
        ray_cmd("start", "--head", "--port", str(head), "--num-cpus", str(args.node_cpus), "--node-ip-address",
                "127.0.0.1", "--include-dashboard", "false", "--disable-usage-stats")
        ray_cmd("start", "--address", address, "--num-cpus", str(args.node_cpus), "--node-ip-address", "127.0.0.1")
        port = free_port()
        t0 = time.monotonic()
        serve_proc = subprocess.Popen([str(VENV / "qa"), "serve", "--ray", address, "--replicas", str(args.replicas),
                                       "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True)
        for line in serve_proc.stdout:
            if line.startswith("serving on"):
                break
        url = f"http://127.0.0.1:{port}"
        print(f"{args.replicas} replicas ready in {time.monotonic() - t0:.1f} s", flush=True)
        plain, plain_url = start_server(args.index, env)
        same = strip(post(url)[1]) == strip(post(plain_url)[1])
        print(f"sample question: replicas' JSON {'equals' if same else 'DIFFERS FROM'} a plain qa serve's", flush=True)
        plain.terminate()
        plain = None
        outcomes, statuses, lat = load(url, args.clients, args.duration, args.retries, args.backoff)
        lat.sort()
        total = sum(outcomes.values())
        print(f"{args.clients} clients x {args.duration:.0f} s, one replica killed: {total} requests; "
              f"200 at once {outcomes['200']}, 200 after a retry {outcomes['retried 200']}, failed {outcomes['failed']}; "
              f"every attempt's status: {dict(sorted(statuses.items()))}; "
              f"p50 {lat[len(lat) // 2]:.0f} ms, p95 {lat[int(len(lat) * 0.95)]:.0f} ms", flush=True)
        return 0 if same and outcomes["failed"] == 0 else 1
    finally:
        for p in (serve_proc, plain):
            if p is not None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        subprocess.run([str(VENV / "ray"), "stop", "--force"], capture_output=True, timeout=120)


if __name__ == "__main__":
    sys.exit(main())
