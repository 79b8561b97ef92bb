"""What the benchmark scripts share: percentiles, question files, a `qa serve` to measure."""

from __future__ import annotations

import json
import os
import platform
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


def cpu() -> str:
    """Model name, core count and the vector extensions that change qa's speed (AMX, AVX-512)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    name = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "unknown")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    from qa.embed.choice import SPEED_FLAGS

    ext = [f for f in SPEED_FLAGS if f in flags]
    return f"{name}, {os.cpu_count()} cores, {' '.join(ext) or 'no AVX2'}"


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a `qa serve --workers N` parent's workers), from /proc."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p.name))
            except (OSError, ValueError, IndexError):
                pass
    return out


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


class ServeProcess:
    """`qa serve` in a subprocess on a free loopback port, with ``env`` added to this environment.

    The one helper for benchmarks (`start_server`) and tests (tests/test_load_smoke.py's
    `RealServer`): ``wait_ready`` polls /v1/readyz and raises with the server's log on failure.
    """

    def __init__(self, index, env: dict[str, str] | None = None, log_path: Path | None = None,
                 extra_args: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # `python -m qa.cli` would run a second copy of qa.cli as __main__, without the plugin commands
        cmd = [sys.executable, "-c", "from qa.cli import main; main()", "serve", "--index", str(index),
               "--port", str(self.port), *extra_args]
        self._log = log_path.open("wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, **(env or {})), stdout=self._log,
                                     stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def wait_ready(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"qa serve exited {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                r = httpx.get(self.url + "/v1/readyz", timeout=2)
                if r.status_code == 200:
                    return r.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"qa serve not ready after {timeout:.0f} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.log_path:
            self._log.close()

    def __enter__(self):
        try:
            self.wait_ready()
        except Exception:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()


def start_server(index: str, env: dict[str, str], log=None, ready_s: float = 300,
                 extra_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Start `qa serve` (rate limit off unless ``env`` says otherwise); return once /v1/readyz says 200.

    ``log``: a path for the server's output (default: discarded)."""
    server = ServeProcess(index, {"QA_RATE_LIMIT_PER_MINUTE": "0", **env}, Path(log) if log else None, extra_args)
    try:
        server.wait_ready(ready_s)
    except RuntimeError as e:
        server.stop()
        sys.exit(str(e))
    return server.proc, server.url
