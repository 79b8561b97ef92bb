"""What a new user meets on the command line (issue 17): --version, one JSON line per input line,
a Ctrl-C during `qa index` that says the previous index is intact, progress lines off a terminal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from conftest import CORPUS, ROOT
from qa.cli import app
from qa.index.store import load_index

QA = [sys.executable, "-c", "from qa.cli import main; main()"]


def test_version():
    from importlib.metadata import version

    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"qa {version('qa')}"


@pytest.mark.slow
def test_ask_json_from_stdin_gives_one_line_per_input_line(bundled_index):
    lines = ["FLT3-ITD AML going into 7+3: what do I add?", "", "   ", "IT methotrexate dose?", "?!", ""]
    r = subprocess.run([*QA, "ask", "--json", "-", "--index", str(bundled_index)], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(out) == len(lines)
    for given, got in zip(lines, out):
        if given.strip() and any(c.isalnum() for c in given):
            assert got["question"] == given and "answer" in got
        else:
            assert "empty" in got["error"]


@pytest.mark.slow
def test_ctrl_c_during_qa_index_says_the_previous_index_is_intact(tmp_path):
    out = tmp_path / "idx"
    subprocess.run([*QA, "index", str(CORPUS), "--out", str(out)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    before = load_index(out).index_id
    big = tmp_path / "big"
    big.mkdir()
    for i in range(400):  # enough text that the build is still embedding when it is interrupted
        (big / f"d{i}.md").write_text(f"# Topic {i}\n\n" + " ".join(f"Sentence {j} about drug {i} dose {j}." for j in range(40)))
    # a test run started in the background inherits SIGINT ignored (as shells do for background
    # jobs); the child gets the default back, as a user's terminal gives it
    proc = subprocess.Popen([*QA, "index", str(big), "--out", str(out)], cwd=ROOT, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = ""
    deadline = time.monotonic() + 240
    while "embed" not in seen and time.monotonic() < deadline:  # the first progress line: embedding began
        seen += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + rest
    assert "interrupted" in rest and "previous index" in rest and "Traceback" not in rest
    assert load_index(out).index_id == before


def test_progress_off_a_terminal_is_dated_lines():
    import io

    from qa.cli.progress import LineProgress

    stream = io.StringIO()
    p = LineProgress(stream, every_s=3600)
    t = p.add_task("answer", total=10)
    for _ in range(10):
        p.advance(t)
    lines = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == ["answer 1/10 (10%)", "answer 10/10 (100%)"]  # first and last


@pytest.mark.parametrize("args", [["--help"], ["ask", "--help"], ["index", "--help"], ["eval", "--help"],
                                  ["eval", "run", "--help"], ["eval", "compare", "--help"], ["serve", "--help"],
                                  ["train", "--help"]])
def test_help_reads_at_80_columns(args):
    r = CliRunner().invoke(app, args, terminal_width=80, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "<bool>" not in r.output and "{" not in r.output and "%%" not in r.output
    assert "..." not in r.output.replace("[ARGS]...", "")  # nothing cut off
    assert max(len(line) for line in r.output.splitlines()) <= 80


def test_qa_eval_compare_fits_80_columns():
    from conftest import ROOT as root

    a, b = root / "eval/reports/medquad-cancergov-test", root / "eval/reports/medquad-cancergov-test-learned"
    r = CliRunner().invoke(app, ["eval", "compare", str(a), str(b)], terminal_width=80, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "evidence_hit@10" in r.output and "citation_precision" in r.output and "…" not in r.output
    assert max(len(line) for line in r.output.replace(str(root) + "/", "").splitlines()) <= 80, r.output


@pytest.mark.slow
def test_qa_serve_says_serving_only_once_questions_work(bundled_index, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import ServeProcess

    with ServeProcess(bundled_index, env={"QA_RATE_LIMIT_PER_MINUTE": "0"}, log_path=tmp_path / "serve.log") as s:
        deadline = time.monotonic() + 10  # readyz turns 200 a moment before the line is printed
        while "serving on " not in (log := s.log()) and time.monotonic() < deadline:
            time.sleep(0.1)
    line = next(x for x in log.splitlines() if x.startswith("serving on "))
    assert line.startswith(f"serving on http://127.0.0.1:{s.port}/") and "documents" in line
    assert log.index('"event": "ready"') < log.index("serving on ")  # after the index loaded and warmed up


def test_error_text_is_shown_as_written_not_read_as_markup(tmp_path):
    missing = tmp_path / "guidelines [draft]"
    r = CliRunner().invoke(app, ["index", str(missing), "--out", str(tmp_path / "idx")])
    assert r.exit_code == 2 and "guidelines [draft]" in r.output
