"""Benchmarks are scripts that print figures, not timed tests; this only proves they still run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import CORPUS, ROOT, SHARED


def run(*args: str) -> str:
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.slow
def test_bench_smoke(tmp_path):
    out = run("benchmarks/bench.py", str(CORPUS), "--questions", "3", "--out", str(tmp_path / "idx"),
              "--http", "4", "--concurrency", "2", "--concurrent-requests", "4")
    for part in ("chunks/s", "index stages (s): read", "pipeline embed stage ",
                 "encoders (qa.embed.choice): questions ", "ask in process (", "sequential: n=4",
                 "2 concurrent: n=4", "errors=0", "server RSS", "naive floor (SentenceTransformer.encode",
                 "ratios to the naive floor: sequential POST p95 / naive p95 = "):
        assert part in out, part
    again = run("benchmarks/bench.py", str(CORPUS), "--questions", "2", "--existing", str(tmp_path / "idx"), "--http", "0")
    assert "index:" not in again and "ask in process" in again


@pytest.mark.slow
def test_question_encoders_smoke():
    out = run("benchmarks/question_encoders.py", "--n", "3", "--rounds", "1")
    for part in ("machine: ", "qa's choice here: questions ", "round 1 torch", "round 1 onnx", "torch / onnx p50 = ",
                 "cosine onnx vs torch: min "):
        assert part in out, part


@pytest.mark.slow
def test_http_latency_smoke(bundled_index):
    out = run("benchmarks/http_latency.py", "--index", str(bundled_index), "--n", "4", "--concurrency", "2")
    assert "sequential: n=4" in out and "errors=0" in out


@pytest.mark.slow
def test_cold_start_smoke():
    out = run("benchmarks/cold_start.py", "--runs", "1")
    for part in ("cpu:", "qa ask, empty encoder cache", "qa ask, cached encoder", 'qa ask "" (refused before loading)',
                 "qa serve until ready, cached encoder"):
        assert part in out, part


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "data" / "medquad").exists(), reason="needs ../shared/data/medquad")
def test_bm25_backends_smoke():
    out = run("benchmarks/bm25_backends.py", "--repeat", "1", "--questions", "20")
    assert "cpu:" in out and "5,490 chunks" in out and "same top 50:" in out


@pytest.mark.slow
def test_cross_encoder_cost_smoke():
    out = run("benchmarks/cross_encoder_cost.py", "--layers", "1", "--pairs", "2", "--n", "3")
    for part in ("machine: ", "budget (issue 11)", "layers 1,  2 pairs (", "p50 ", "p95 "):
        assert part in out, part
