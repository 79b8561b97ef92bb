"""`qa train` end to end on the bundled corpus's gold questions (no ../shared needed), real model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner



@pytest.mark.slow
def test_qa_train_on_seeds_writes_a_model_qa_can_answer_with(tmp_path, bundled_index, real_embedder):
    from qa.query.answer_model import load_model
    from qa.cli import app
    from qa.query.engine import Engine

    model, report = tmp_path / "model.json", tmp_path / "report"
    r = CliRunner().invoke(app, ["train", "--only", "seeds", "--out", str(model), "--report", str(report),
                                 "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    m = load_model(model)
    assert set(m.variants) == {"hybrid", "lexical"} and m.info["settings"]["sources"] == ["seeds"]
    body = json.loads((report / "report.json").read_text())
    assert body["model_sha256"] == m.sha256
    data = body["info"]["data"]
    assert data["seeds/fit"]["answerable"] > 10 and data["seeds/fit"]["perturbed answerable"] > 10
    assert "listwise" in body["fit"]["hybrid"]["candidates"] and (report / "report.md").exists()
    a = Engine.load(bundled_index, real_embedder, model=m, abstain=False).ask("IT methotrexate dose for a 2 year old?")
    assert a.citations and a.raw_score == a.raw_score  # a number, not NaN


def test_qa_train_refuses_unknown_sources_and_missing_suites(tmp_path):
    from qa.cli import app

    r = CliRunner().invoke(app, ["train", "--only", "pubmed", "--shared", str(tmp_path)])
    assert r.exit_code == 2 and "unknown training source" in r.output
    r = CliRunner().invoke(app, ["train", "--only", "covid-qa", "--shared", str(tmp_path)])
    assert r.exit_code == 2 and "not found" in " ".join(r.output.split())  # rich wraps long paths
