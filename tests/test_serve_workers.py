"""`qa serve --workers N` (issue 15, concurrency): N real processes on one port answer, SIGHUP to the
parent reloads the index in every one of them, and a worker that cannot load stops the server with
a clear line instead of being restarted forever.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import CORPUS
from test_load_smoke import RealServer  # puts benchmarks/ on sys.path
from common import children

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "IT methotrexate dose for a 2 year old?"


def index_ids(url: str, n: int = 20) -> set[str]:
    with httpx.Client(base_url=url, timeout=60) as c:
        replies = [c.post("/v1/ask", json={"question": QUESTION}) for _ in range(n)]
    assert all(r.status_code == 200 for r in replies), [r.text[:200] for r in replies if r.status_code != 200]
    return {r.json()["index_id"] for r in replies}


@pytest.mark.slow
def test_two_workers_answer_and_sighup_reloads_both(tmp_path, real_embedder):
    from qa.index.build import build_index

    served = tmp_path / "served" / "index"
    build_index(CORPUS, served, real_embedder)
    with RealServer(served, tmp_path, rate_limit_per_minute=0, workers=2, feedback_db=tmp_path / "fb.sqlite3") as s:
        deadline = time.monotonic() + 60
        while len(children(s.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = children(s.proc.pid)
        # uvicorn's spawn start may add a resource tracker child: the serving ones print a line each
        while s.log().count("serving on") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert s.log().count("serving on") == 2 and len(workers) >= 2, s.log()[-2000:]
        first = index_ids(s.url)
        assert len(first) == 1
        changed = tmp_path / "changed"
        shutil.copytree(CORPUS, changed)
        extra = changed / "extra.md"
        extra.write_text("# Hydroxyurea\n\nHydroxyurea lowers a very high white cell count before induction.\n")
        build_index(changed, served, real_embedder)  # swaps the served link, as `qa index` does
        os.kill(s.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ids = index_ids(s.url)
            if ids and first.isdisjoint(ids):
                break
            time.sleep(0.5)
        else:
            lines = [line for line in s.log().splitlines() if '"/v1/ask"' not in line]
            raise AssertionError("not every worker reloaded after SIGHUP:\n" + "\n".join(lines[-30:]))
        assert sorted(children(s.proc.pid)) == sorted(workers)  # reloaded in place, not restarted


@pytest.mark.slow
def test_a_worker_that_cannot_load_stops_the_server(tmp_path, real_embedder):
    from qa.index.build import build_index

    served = tmp_path / "index"
    build_index(CORPUS, served, real_embedder)
    (served / "dense.faiss").write_bytes(b"not a faiss index")  # the manifest still reads: only loading fails
    proc = subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "serve", "--index", str(served),
                           "--port", "0", "--workers", "2"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, QA_FEEDBACK="false"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "a worker could not load the index" in proc.stderr and "Traceback" not in proc.stderr


def test_workers_and_ray_are_refused_together(fake_index):
    proc = subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "serve", "--index",
                           str(fake_index), "--workers", "2", "--ray", "local"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "--replicas" in proc.stderr
