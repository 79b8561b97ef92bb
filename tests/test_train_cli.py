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

    from qa.query.calibration import load_calibration

    model, report, cal = tmp_path / "model.json", tmp_path / "report", tmp_path / "qa-calibration.json"
    r = CliRunner().invoke(app, ["train", "--only", "seeds", "--out", str(model), "--report", str(report),
                                 "--cache-dir", str(tmp_path / "cache"), "--corpus-calibration", str(cal)])
    assert r.exit_code == 0, r.output
    m = load_model(model)
    c = load_calibration(cal)
    assert c.model_sha == m.sha256 and "out-of-fold" in c.fitted_on
    assert set(m.variants) == {"hybrid", "lexical"} and m.info["settings"]["sources"] == ["seeds"]
    body = json.loads((report / "report.json").read_text())
    assert body["model_sha256"] == m.sha256
    data = body["info"]["data"]
    assert data["seeds/fit"]["answerable"] > 10 and data["seeds/fit"]["perturbed answerable"] > 10
    assert "listwise" in body["fit"]["hybrid"]["candidates"] and (report / "report.md").exists()
    oof = body["corpus_calibration"]["out_of_fold"]
    assert oof["n"] == 76 and oof["answerable"] == 54  # every original seeds dev question, once
    assert "Bundled corpus calibration" in (report / "report.md").read_text()
    a = Engine.load(bundled_index, real_embedder, model=m, abstain=False).ask("IT methotrexate dose for a 2 year old?")
    assert a.citations and a.raw_score == a.raw_score  # a number, not NaN


def test_qa_train_refuses_unknown_sources_and_missing_suites(tmp_path):
    from qa.cli import app

    r = CliRunner().invoke(app, ["train", "--only", "pubmed", "--shared", str(tmp_path)])
    assert r.exit_code == 2 and "unknown training source" in r.output
    r = CliRunner().invoke(app, ["train", "--only", "covid-qa", "--shared", str(tmp_path)])
    assert r.exit_code == 2 and "not found" in " ".join(r.output.split())  # rich wraps long paths


@pytest.mark.slow
def test_out_of_fold_logits_never_see_their_own_question(tmp_path, real_embedder):
    """A question's out-of-fold logit comes from models fitted without its fold: relabelling it
    (every candidate wrong) leaves its own logit as it was and moves the other folds' logits."""
    from dataclasses import replace
    from pathlib import Path

    import numpy as np

    from qa.train.oof import out_of_fold
    from qa.train.run import TrainSettings, collect_all, fold_of

    s = TrainSettings(tmp_path, Path(__file__).parent.parent / "eval" / "seeds", sources=("seeds",),
                      perturbed=False, compare_trees=False, cache_dir=tmp_path / "cache")
    items = collect_all(s, real_embedder)["hybrid"]
    before = out_of_fold(items, "seeds", s.l2)
    target = next(q for q, ok in zip(before.qids, before.correct) if ok)
    after = out_of_fold([replace(i, y=np.zeros_like(i.y)) if i.qid == target else i for i in items], "seeds", s.l2)
    assert after.qids == before.qids
    t = before.qids.index(target)
    assert after.logits[t] == before.logits[t] and not after.correct[t]
    others = [j for j, q in enumerate(before.qids) if fold_of(q) != fold_of(target)]
    assert not np.array_equal(after.logits[others], before.logits[others])
