"""Fitting the answerer: a listwise sentence scorer, an abstainer, Platt scaling, a risk bound.

Why these models (measured in `qa train`'s report, `docs/eval.md`):
- **Scorer: linear, listwise.** A question's candidates compete for one answer, so the loss is the
  softmax cross-entropy of "some positive is chosen" over the question's own candidates
  (``LSE(all) - LSE(positives)``); a pointwise logistic fit weighs easy questions with many
  negatives more and ranked worse on the dev folds. A linear model scores 60 candidates in a few
  microseconds and ships as 30 numbers in JSON.
- **Cross-fitting.** The abstainer must see scores as bad as they are on unseen questions, so its
  inputs come from scorers fitted on the other folds (3 folds by question id).
- **Abstainer: logistic** over question-level evidence, label "the first choice hits gold".
- **Calibration and threshold** on a split that neither fit touched: Platt scaling of the
  abstainer's logit, and the lowest threshold (most coverage) whose Clopper-Pearson upper bound
  on wrong-among-answered stays within ``alpha`` (Bates et al., "Distribution-free, risk-
  controlling prediction sets", 2021: the one-sided binomial bound holds for each fixed threshold;
  scanning thresholds from the top and stopping at the first violation keeps it valid, as in
  Learn-then-Test's fixed-sequence testing).

>>> t = risk_threshold(np.arange(100.0), np.arange(100) >= 10, alpha=0.10)
>>> t.answered, round(t.risk, 3), t.risk_upper <= 0.10  # 4 wrong of 94: the bound still holds
(94, 0.043, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from qa.query.answer_model import LinearModel
from qa.eval.metrics import clopper_pearson
from qa.eval.calibrate import fit_platt as platt  # noqa: F401  (one Platt fit for qa train and qa eval --calibrate)


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0  # a constant column (e.g. cosine in the lexical variant) keeps weight 0
    return mean, scale


def _groups(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def fit_listwise(xs: list[np.ndarray], ys: list[np.ndarray], features: tuple[str, ...],
                 weights: np.ndarray | None = None, l2: float = 1e-3) -> LinearModel:
    """A linear scorer maximising, per question, the softmax mass on its positive candidates.

    Only questions with at least one positive candidate (and one negative) teach the ranking.
    """
    keep = [i for i, (x, y) in enumerate(zip(xs, ys)) if 0 < y.sum() < len(y)]
    xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
    w_q = np.ones(len(xs)) if weights is None else np.asarray(weights, float)[keep]
    w_q = w_q / w_q.sum()
    X = np.concatenate(xs).astype(np.float64)
    Y = np.concatenate(ys) > 0
    mean, scale = _standardise(X)
    Z = (X - mean) / scale
    starts = _groups([len(x) for x in xs])
    group = np.repeat(np.arange(len(xs)), [len(x) for x in xs])
    row_w = w_q[group]

    def lse(s: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.where(mask, s, -np.inf)
        m = np.maximum.reduceat(t, starts)
        e = np.where(mask, np.exp(t - m[group]), 0.0)
        tot = np.add.reduceat(e, starts)
        return m + np.log(tot), e / tot[group]

    everything = np.ones_like(Y)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        s = Z @ w + b
        l_all, p_all = lse(s, everything)
        l_pos, p_pos = lse(s, Y)
        value = float(np.dot(w_q, l_all - l_pos)) + l2 * float(w @ w)
        grad_rows = row_w * (p_all - p_pos)
        g = Z.T @ grad_rows + 2 * l2 * w
        return value, np.concatenate([g, [0.0]])

    res = optimize.minimize(loss, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B",
                            options={"maxiter": 500})
    return LinearModel(features, tuple(mean.tolist()), tuple(scale.tolist()), tuple(res.x[:-1].tolist()), 0.0)


def row_weights(xs: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Per candidate row, its question's weight spread over the question's candidates (pointwise fits
    then weigh each question as the listwise fit does, however many candidates it has)."""
    w_q = np.ones(len(xs)) if weights is None else np.asarray(weights, float)
    return np.concatenate([np.full(len(x), w / max(1, len(x))) for x, w in zip(xs, w_q)])


def fit_logistic(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], weights: np.ndarray | None = None,
                 l2: float = 1e-3) -> LinearModel:
    """Weighted logistic regression (L-BFGS, standardised inputs)."""
    X = x.astype(np.float64)
    mean, scale = _standardise(X)
    Z = (X - mean) / scale
    w_r = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    w_r = w_r / w_r.sum()
    t = np.asarray(y, float)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = Z @ w + b
        value = float(np.dot(w_r, np.logaddexp(0, z) - t * z)) + l2 * float(w @ w)
        r = w_r * (1 / (1 + np.exp(-z)) - t)
        return value, np.concatenate([Z.T @ r + 2 * l2 * w, [r.sum()]])

    res = optimize.minimize(loss, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    return LinearModel(features, tuple(mean.tolist()), tuple(scale.tolist()), tuple(res.x[:-1].tolist()),
                       float(res.x[-1]))


@dataclass(frozen=True)
class Threshold:
    value: float  # abstain when the abstainer's logit is below this
    coverage: float
    risk: float  # wrong among answered, on the calibration split
    risk_upper: float  # its one-sided 95% Clopper-Pearson upper bound
    answered: int
    n: int


def risk_threshold(z: np.ndarray, correct: np.ndarray, alpha: float, min_answered: int = 50) -> Threshold:
    """The lowest threshold on ``z`` whose 95% upper bound on wrong-among-answered is <= ``alpha``.

    Thresholds are tested from the most confident answer down (fixed-sequence testing), starting
    once ``max(min_answered, n/10)`` questions are answered (a count fixed before any label is
    read: above it the bound is too wide to pass), and the scan stops at the first threshold that
    fails, so the bound holds for the one chosen. ``correct`` is False for an unanswerable question
    (answering it is wrong) and for a first choice outside the gold evidence.
    """
    order = np.argsort(-z, kind="stable")
    zs, wrong = z[order], ~np.asarray(correct, bool)[order]
    best = Threshold(float(zs[0]) + 1e-6 if len(zs) else math.inf, 0.0, 0.0, 0.0, 0, len(z))
    start = max(min_answered, len(zs) // 10)
    k = 0
    for i in range(len(zs)):
        k += int(wrong[i])
        if i + 1 < len(zs) and zs[i + 1] == zs[i]:
            continue  # ties answer together
        n_ans = i + 1
        if n_ans < start:
            continue
        upper = clopper_pearson(k, n_ans, level=0.90)[1]
        if upper > alpha:
            break
        best = Threshold(float(zs[i]), n_ans / len(zs), k / n_ans, upper, n_ans, len(z))
    return best
