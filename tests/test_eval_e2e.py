"""`qa eval eval/seeds --calibrate` end to end with the real model (no ../shared needed)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from test_eval_suites import SQUAD


@pytest.mark.slow
def test_qa_eval_seeds_with_calibration(tmp_path):
    from qa.query.calibration import load_calibration
    from qa.cli import app

    out, cal = tmp_path / "report", tmp_path / "calibration.json"
    args = ["eval", str(ROOT / "eval" / "seeds"), "--split", "test", "--modes", "bm25,dense,hybrid-rrf,hybrid-weighted",
            "--calibrate", "--calibration-out", str(cal), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    assert report["suite"] == "seeds" and report["split"] == "test" and report["n_questions"] == 46
    assert set(report["modes"]) == {"bm25", "dense", "hybrid", "hybrid-weighted"}
    hybrid = report["modes"]["hybrid-weighted"]  # the default mode
    assert hybrid["ndcg@10"] > 0.8 and hybrid["evidence_hit@5"] > 0.6  # two documents: retrieval is easy
    assert 0 <= hybrid["abstain_accuracy"] <= 1 and hybrid["auroc"] is not None
    fitted = load_calibration(cal)
    assert report["calibration"]["threshold"] == fitted.threshold == hybrid["abstention"]["threshold"]
    dev = report["calibration"]["dev"]
    assert dev["answered"] > 0 and "dev" in fitted.fitted_on  # never a calibration that switches qa off
    assert dev["risk"] <= dev["risk_bound_used"] and dev["risk_bound_met"] == (dev["risk_bound_used"] == dev["max_risk"])
    assert (out / "report.md").exists() and (out / "risk_coverage.png").exists()
    # the second run reuses the cached index
    r = CliRunner().invoke(app, ["eval", str(ROOT / "eval" / "seeds"), "--split", "dev", "--modes", "bm25",
                                 "--out", str(tmp_path / "r2"), "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r2" / "report.json").read_text())["index_reused"] is True


@pytest.mark.slow
def test_calibrate_writes_where_qa_calibration_points_not_into_the_package(tmp_path, monkeypatch):
    from qa.query.answer_model import DEFAULT_PATH
    from qa.cli import app

    shipped = DEFAULT_PATH.read_bytes()
    target = tmp_path / "site-calibration.json"
    target.write_text('{"threshold": 0.0, "a": 1.0, "b": 0.0}')
    monkeypatch.setenv("QA_CALIBRATION", str(target))
    before = target.read_text()
    r = CliRunner().invoke(app, ["eval", str(ROOT / "eval" / "seeds"), "--split", "test", "--modes", "hybrid-weighted",
                                 "--calibrate", "--out", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    assert DEFAULT_PATH.read_bytes() == shipped  # the package's model is untouched
    assert target.read_text() != before and "seeds dev" in json.loads(target.read_text())["fitted_on"]


@pytest.mark.slow
def test_calibrate_refuses_a_single_split_squad_file(tmp_path):
    from qa.cli import app

    p = tmp_path / "mini.json"
    p.write_text(json.dumps(SQUAD))
    r = CliRunner().invoke(app, ["eval", str(p), "--calibrate", "--out", str(tmp_path / "r"),
                                 "--cache-dir", str(tmp_path / "cache"), "--calibration-out", str(tmp_path / "c.json")])
    assert r.exit_code != 0 and "single-split" in r.output
    assert not (tmp_path / "c.json").exists()
