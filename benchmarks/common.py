"""What the benchmark scripts share: percentiles, question files, a `qa serve` to measure."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def pct(xs, p: float) -> float:
    """Nearest-rank percentile; nan for no values."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def load_questions(path: str | None, default: list[str]) -> list[str]:
    """A BEIR queries.jsonl or one question a line; ``default`` without a path."""
    if not path:
        return default
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line)["text"] if line.startswith("{") else line)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index: str, env: dict[str, str], log=subprocess.DEVNULL, ready_s: float = 300,
                 extra_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Start `qa serve` on a free loopback port with ``env`` added; return once /v1/readyz says 200."""
    port = free_port()
    cmd = [sys.executable, "-c", "from qa.cli import main; main()", "serve", "--index", index,
           "--port", str(port), *extra_args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, QA_RATE_LIMIT_PER_MINUTE="0", **env),
                            stdout=log, stderr=subprocess.STDOUT if log is not subprocess.DEVNULL else log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"qa serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/v1/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    proc.kill()
    sys.exit(f"qa serve was not ready after {ready_s:.0f} s")
