"""Against a real `qa serve` (uvicorn in a subprocess): 20 concurrent clients for 10 s, no errors;
and the body limit on a real socket with a chunked body (no Content-Length).

`RealServer` is also used by tests/test_browser.py.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "FLT3-ITD AML starting 7+3: what do I add, and on which days?",
    "IT methotrexate dose for a 2 year old?",
    "leukapheresis ok in suspected APL?",
    "how often is KMT2A rearranged in infant ALL",
    "warfarin reversal before surgery",
    "6-yr OS for high-risk infant ALL",
]


sys.path.insert(0, str(ROOT / "benchmarks"))
from common import ServeProcess, free_port  # noqa: E402  (one helper for benchmarks and tests)


class RealServer(ServeProcess):
    """`qa serve` in a subprocess on a free port; settings as keyword arguments -> QA_* variables."""

    def __init__(self, index: Path, log_dir: Path, **settings):
        env = {f"QA_{k.upper()}": str(v) for k, v in settings.items()}
        super().__init__(index, env, log_dir / f"qa-serve-{id(self)}.log")


@pytest.fixture(scope="module")
def server(bundled_index, tmp_path_factory):
    with RealServer(bundled_index, tmp_path_factory.mktemp("logs"), rate_limit_per_minute=0,
                    max_concurrency=4, queue_timeout_s=10) as s:
        yield s


@pytest.mark.slow
def test_twenty_concurrent_clients_for_ten_seconds(server):
    results: list[tuple[int, float]] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 10

    def client(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            i = n
            while time.monotonic() < stop_at:
                q = QUESTIONS[i % len(QUESTIONS)]
                i += 1
                t = time.perf_counter()
                try:
                    r = c.post("/v1/ask", json={"question": q})
                    # an answer under load is a full one: 200, from the index, not degraded to BM25 alone
                    ok = r.status_code == 200 and r.json()["index_id"] and r.json()["degraded"] is False
                    if not ok:
                        with lock:
                            failures.append(f"{r.status_code} {r.text[:200]}")
                    with lock:
                        results.append((r.status_code, time.perf_counter() - t))
                except httpx.HTTPError as e:
                    with lock:
                        failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures[:5]
    assert len(results) >= 40, f"only {len(results)} answers in 10 s"
    lat = sorted(x for _, x in results)
    print(f"\n{len(results)} answers in 10 s from 20 clients; p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
          f"p95 {lat[int(len(lat) * 0.95)] * 1000:.0f} ms")
    assert server.proc.poll() is None
    assert '"status": 500' not in server.log()


@pytest.mark.slow
def test_chunked_body_over_limit_on_a_real_socket(server):
    """Transfer-Encoding: chunked, no Content-Length: 413 once the count passes the limit."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b'{"question": "' + b"a" * 4000
        try:
            for _ in range(10):  # 40 kB > the 16 kB default
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading once it has answered
        reply = b""
        while True:  # headers, then exactly content-length bytes of body
            head, sep, rest = reply.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and length and len(rest) >= int(length.group(1)):
                break
            part = s.recv(65536)
            if not part:
                break
            reply += part
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b" 413 " in head.split(b"\r\n", 1)[0], reply[:300]
    assert json.loads(body)["error"]["code"] == "payload_too_large", body[:300]


@pytest.mark.slow
def test_serve_refuses_a_missing_index(tmp_path):
    r = subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "serve", "--index",
                        str(tmp_path / "none"), "--port", str(free_port())],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no index" in r.stderr and "Traceback" not in r.stderr
