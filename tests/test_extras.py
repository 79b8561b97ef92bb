"""The main job needs none of the extras (issue 17: a 2.3 GB .venv for index, ask and serve): qa
indexes and answers with ranx, matplotlib and numba made unimportable, and the commands that need
an extra say which one and how to install it. Without ONNX Runtime, questions fall back to torch."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from conftest import CORPUS, ROOT

EXTRA_MODULES = ("ranx", "matplotlib", "numba")
# a module set to None in sys.modules cannot be imported, and find_spec says it is not installed
WITHOUT = f"import sys; sys.modules.update(dict.fromkeys({EXTRA_MODULES!r})); from qa.cli import main; main()"


def _qa(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_the_base_install_leaves_the_heavy_parts_to_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for module in ("ranx", "matplotlib", "numba"):
        assert module not in base
    extras = project["optional-dependencies"]
    assert {"eval", "large", "test"} <= set(extras)
    assert "qa[eval,large]" in extras["test"]  # ./test.sh installs everything


@pytest.mark.slow
def test_index_and_ask_work_without_any_extra(tmp_path):
    out = tmp_path / "idx"
    r = _qa("index", str(CORPUS), "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    r = _qa("ask", "--index", str(out), "--json", "FLT3-ITD AML starting 7+3: what do I add, and on which days?")
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"answer"' in r.stdout and "midostaurin" in r.stdout


@pytest.mark.parametrize("command", [["eval", "eval/seeds", "--limit", "1"], ["train"]])
def test_eval_and_train_name_the_missing_extra(command):
    r = _qa(*command)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "needs qa's 'eval' extra (ranx, matplotlib not installed)" in r.stderr
    assert "pip install -e '.[eval]'" in r.stderr


def test_without_onnx_runtime_questions_fall_back_to_torch():
    code = ("import sys; sys.modules.update(dict.fromkeys(('onnx', 'onnxruntime')));"
            "from qa.embed import encoder_for, load_embedder\n"
            "print(encoder_for('question'), load_embedder(role='question').encoder)\n"
            "try:\n    load_embedder(encoder='onnx')\nexcept Exception as e:\n    print(e)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={**__import__("os").environ, "QA_QUESTION_ENCODER": "auto"})
    assert r.returncode == 0, r.stderr[-2000:]
    chosen, forced_error = r.stdout.split("\n", 1)
    assert chosen == "torch torch"
    assert "the onnx encoder needs onnx and onnxruntime" in forced_error  # asked for by name: an error
