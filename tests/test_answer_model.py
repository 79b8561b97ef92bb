"""The answer model file: versioned, checksummed, refused when damaged or fitted for other features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.query.answer_model import DEFAULT_PATH, AnswerModel, LinearModel, ModelError, Variant, load_model
from qa.query.calibration import Calibration
from qa.query.features import QUESTION_FEATURES, SENTENCE_FEATURES


def _linear(features):
    n = len(features)
    return LinearModel(features, (0.0,) * n, (1.0,) * n, tuple(float(i) for i in range(n)), 0.5)


def _model() -> AnswerModel:
    v = Variant(_linear(SENTENCE_FEATURES), _linear(QUESTION_FEATURES), Calibration(threshold=0.1, a=2.0, b=-1.0))
    return AnswerModel({"hybrid": v, "lexical": v}, {"note": "test"})


def test_round_trip_keeps_every_number(tmp_path):
    m = _model()
    m.save(tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert back.sha256 == m.sha256 and back.variants["hybrid"].calibration.threshold == 0.1
    x = np.random.default_rng(0).normal(size=(4, len(SENTENCE_FEATURES))).astype(np.float32)
    assert np.allclose(back.variants["lexical"].scorer.logits(x), m.variants["lexical"].scorer.logits(x))


@pytest.mark.parametrize("damage,message", [
    (lambda b: b["variants"]["hybrid"]["scorer"]["weights"].__setitem__(0, 9.0), "checksum"),
    (lambda b: b.__setitem__("version", 99), "version 99"),
    (lambda b: b.__setitem__("format", "other"), "not a qa answer model"),
])
def test_damaged_files_are_refused_with_what_to_do(tmp_path, damage, message):
    _model().save(tmp_path / "m.json")
    body = json.loads((tmp_path / "m.json").read_text())
    damage(body)
    (tmp_path / "m.json").write_text(json.dumps(body))
    with pytest.raises(ModelError, match=message) as e:
        load_model(tmp_path / "m.json")
    assert "qa train" in str(e.value)


def test_missing_file_and_other_features_are_refused(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "none.json")
    other = ("a",) + SENTENCE_FEATURES[1:]
    v = Variant(_linear(other), _linear(QUESTION_FEATURES), Calibration())
    AnswerModel({"hybrid": v, "lexical": v}).save(tmp_path / "m.json")
    with pytest.raises(ModelError, match="other features"):
        load_model(tmp_path / "m.json")


def test_the_shipped_model_loads_with_both_variants_calibrated():
    m = load_model(DEFAULT_PATH)
    assert set(m.variants) == {"hybrid", "lexical"}
    for v in m.variants.values():
        c = v.calibration
        assert np.isfinite(c.threshold) and c.a > 0 and "Clopper-Pearson" in c.rule
    assert m.info["data"] and m.info["settings"]["alpha"] <= 0.2
