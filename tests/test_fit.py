"""The fitting maths of `qa train`: listwise scorer, logistic abstainer, Platt, the risk bound."""

from __future__ import annotations

import numpy as np
import pytest

from qa.eval.metrics import bootstrap_ci, clopper_pearson
from qa.train import fit as F


def _lists(n=200, seed=0):
    rng = np.random.default_rng(seed)
    true = np.array([1.0, -2.0, 0.5, 0.0])
    xs, ys = [], []
    for _ in range(n):
        x = rng.normal(size=(int(rng.integers(3, 9)), 4))
        y = np.zeros(len(x))
        y[np.argmax(x @ true + rng.gumbel(size=len(x)) * 0.3)] = 1
        xs.append(x)
        ys.append(y)
    return xs, ys


def test_listwise_recovers_the_ranking_direction():
    xs, ys = _lists()
    m = F.fit_listwise(xs, ys, ("a", "b", "c", "d"), l2=0.0)
    w = np.array(m.weights) / np.array(m.scale)
    cos = w @ np.array([1.0, -2.0, 0.5, 0.0]) / np.linalg.norm(w) / np.linalg.norm([1.0, -2.0, 0.5, 0.0])
    assert cos > 0.97
    test_x, test_y = _lists(100, seed=1)
    top1 = np.mean([y[np.argmax(m.logits(x.astype(np.float32)))] for x, y in zip(test_x, test_y)])
    assert top1 > 0.8


def test_listwise_ignores_questions_without_a_positive_or_a_negative():
    xs, ys = _lists(50)
    m1 = F.fit_listwise(xs, ys, tuple("abcd"), l2=0.0)
    m2 = F.fit_listwise(xs + [np.ones((3, 4))], ys + [np.zeros(3)], tuple("abcd"), l2=0.0)
    assert np.allclose(m1.weights, m2.weights, atol=1e-6)


def test_logistic_and_platt_match_the_generating_curve():
    rng = np.random.default_rng(0)
    z = rng.normal(size=5000)
    y = rng.random(5000) < 1 / (1 + np.exp(-(2.0 * z - 1.0)))
    a, b = F.platt(z, y)
    assert abs(a - 2.0) < 0.2 and abs(b + 1.0) < 0.15
    m = F.fit_logistic(z[:, None], y, ("z",), l2=0.0)
    assert m.weights[0] > 0


def test_clopper_pearson_known_values():
    assert clopper_pearson(0, 20, level=0.90)[1] == pytest.approx(1 - 0.05 ** (1 / 20), abs=1e-6)
    lo, hi = clopper_pearson(5, 10)
    assert lo < 0.5 < hi and clopper_pearson(0, 0) == (0.0, 1.0)


def test_risk_threshold_keeps_the_bound_and_takes_the_most_coverage():
    rng = np.random.default_rng(0)
    z = rng.normal(size=2000)
    correct = rng.random(2000) < 1 / (1 + np.exp(-3 * z))
    t = F.risk_threshold(z, correct, alpha=0.10)
    answered = z >= t.value
    assert t.risk_upper <= 0.10 and answered.sum() == t.answered
    assert (~correct[answered]).mean() == pytest.approx(t.risk)
    # one more answer (the next lower score) would break the bound or there is none
    lower = z[z < t.value]
    if len(lower):
        nxt = z >= lower.max()
        assert clopper_pearson(int((~correct[nxt]).sum()), int(nxt.sum()), level=0.90)[1] > 0.10 or t.coverage == 1


def test_risk_threshold_answers_nothing_when_everything_is_wrong():
    z = np.linspace(0, 1, 100)
    t = F.risk_threshold(z, np.zeros(100, bool), alpha=0.10)
    assert t.answered == 0 and t.coverage == 0 and t.value > z.max()


def test_bootstrap_ci_is_deterministic_and_brackets_the_mean():
    v = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    assert bootstrap_ci(v) == bootstrap_ci(v)
    lo, hi = bootstrap_ci(v)
    assert lo < np.mean(v) < hi and bootstrap_ci([1]) is None
