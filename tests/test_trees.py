"""The tree scorer: plain tables that score exactly as the fitted ensemble, stored in the model file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.query.answer_model import AnswerModel, ModelError, Variant, load_model
from qa.query.calibration import Calibration
from qa.query.features import QUESTION_FEATURES, SENTENCE_FEATURES
from qa.query.trees import TreeEnsemble, TreeError


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(SENTENCE_FEATURES))).astype(np.float32)
    y = x[:, 0] * x[:, 1] > 1.0  # an interaction a linear score cannot express (~10% positive)
    return x, y


@pytest.fixture(scope="module")
def fitted():
    pytest.importorskip("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier

    from qa.train.trees import SETTINGS, from_sklearn

    x, y = _data(4000)
    x[::50, 3] = np.nan  # a missing value teaches the nodes a side for it
    gb = HistGradientBoostingClassifier(**SETTINGS).fit(x, y)
    return gb, from_sklearn(gb, SENTENCE_FEATURES)


def test_tables_score_exactly_as_scikit_learn(fitted):
    gb, trees = fitted
    x, _ = _data(500, seed=1)
    x[::7, 3] = np.nan
    assert np.allclose(trees.logits(x), gb.decision_function(x), atol=1e-9)
    assert trees.logits(np.zeros((0, len(SENTENCE_FEATURES)), np.float32)).shape == (0,)


def test_fit_trees_ranks_an_interaction_the_linear_scorer_cannot(fitted):
    from qa.train.fit import fit_listwise
    from qa.train.trees import fit_trees

    x, y = _data(3000, seed=2)
    xs, ys = np.split(x, 100), np.split(y.astype(float), 100)  # 100 questions of 30 candidates
    trees, linear = fit_trees(xs, ys, SENTENCE_FEATURES), fit_listwise(xs, ys, SENTENCE_FEATURES)
    xt, yt = _data(3000, seed=3)
    top1 = {name: np.mean([yt[i * 30:(i + 1) * 30][np.argmax(m.logits(xt[i * 30:(i + 1) * 30]))]
                           for i in range(100)]) for name, m in (("trees", trees), ("linear", linear))}
    assert top1["trees"] > top1["linear"] + 0.1, top1


def test_a_model_with_trees_round_trips_and_a_version_1_file_keeps_its_hash(tmp_path, fitted):
    _, trees = fitted
    n = len(QUESTION_FEATURES)
    from qa.query.answer_model import LinearModel

    abstainer = LinearModel(QUESTION_FEATURES, (0.0,) * n, (1.0,) * n, (1.0,) * n, 0.0)
    v = Variant(trees, abstainer, Calibration(threshold=0.2))
    m = AnswerModel({"hybrid": v, "lexical": v}, {"note": "test"})
    m.save(tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert back.sha256 == m.sha256 and back.version == 2
    x, _ = _data(50, seed=4)
    assert np.array_equal(back.variants["hybrid"].scorer.logits(x), trees.logits(x))
    body = json.loads((tmp_path / "m.json").read_text())  # the same content as version 1: no trees allowed
    body["version"] = 1
    lin = LinearModel(SENTENCE_FEATURES, (0.0,) * len(SENTENCE_FEATURES), (1.0,) * len(SENTENCE_FEATURES),
                      (1.0,) * len(SENTENCE_FEATURES), 0.0).to_dict()
    for name in ("hybrid", "lexical"):
        body["variants"][name]["scorer"] = lin
    body.pop("sha256")
    from qa.query.answer_model import _digest

    body["sha256"] = _digest(body)
    (tmp_path / "v1.json").write_text(json.dumps(body))
    old = load_model(tmp_path / "v1.json")
    assert old.version == 1 and old.sha256 == body["sha256"]  # calibrations name a model by this hash


def test_broken_tables_are_refused(tmp_path, fitted):
    _, trees = fitted
    d = trees.to_dict()
    d["left"][0][0] = 0  # a node that is its own child would loop
    with pytest.raises(TreeError, match="points outside"):
        TreeEnsemble.from_dict(d)
    d = trees.to_dict()
    d["feature"][0][0] = len(SENTENCE_FEATURES)
    with pytest.raises(TreeError):
        TreeEnsemble.from_dict(d)
    d = trees.to_dict()
    d["value"][0] = d["value"][0][:-1]
    with pytest.raises(TreeError, match="shape"):
        TreeEnsemble.from_dict(d)
    n = len(QUESTION_FEATURES)
    from qa.query.answer_model import LinearModel

    v = Variant(trees, LinearModel(QUESTION_FEATURES, (0.0,) * n, (1.0,) * n, (1.0,) * n, 0.0), Calibration())
    AnswerModel({"hybrid": v, "lexical": v}).save(tmp_path / "m.json")
    body = json.loads((tmp_path / "m.json").read_text())
    body["variants"]["hybrid"]["scorer"]["left"][0][0] = 0
    from qa.query.answer_model import _digest

    body.pop("sha256")
    body["sha256"] = _digest(body)  # a consistent hash: the tables themselves are what is wrong
    (tmp_path / "m.json").write_text(json.dumps(body))
    with pytest.raises(ModelError, match="incomplete"):
        load_model(tmp_path / "m.json")
