"""Fitting the abstention threshold and the raw-score -> confidence mapping on a dev split.

Rule (stated in the calibration file and the report): answer when ``raw >= threshold``; choose the
threshold that maximises accuracy (correct answers + abstentions on unanswerable questions, over
all questions), optionally subject to at most ``max_risk`` wrong answers among those answered,
where an answer is wrong when the question is unanswerable or its first citation misses the gold
evidence. The default is no bound (``max_risk`` = 1): on the 32 seeds dev questions a 5% bound is
met only by answering almost nothing (test: a third of answerable questions answered), which is
no use to a clinician; plain max accuracy answered 61% of answerable test questions correctly
and still abstained on 75% of unanswerable ones. Pass ``--max-risk`` for a stricter deployment.
The threshold is set midway between the lowest answered raw score and the next lower one, so
a small score drift does not flip the boundary question. If only abstaining on every question
meets the bound, writing that would switch qa off: the bound is loosened in 5-point steps until
some question is answered, and the report flags ``risk_bound_met: false`` with the bound used.

Confidence: Platt scaling, a logistic regression ``P(correct | raw) = 1 / (1 + exp(-(a*raw + b)))``
fitted by Newton's method with a weak L2 penalty on ``a`` (so a separable dev split does not
send it to infinity). Reported with its expected calibration error before and after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from qa.query.calibration import Calibration
from qa.eval import metrics as M

MAX_RISK = 1.0


def _search(r: np.ndarray, answerable, hit1, max_risk: float | None):
    """Best (accuracy, coverage) threshold among the distinct raw scores and 'abstain on all'."""
    distinct = np.unique(r)[::-1]  # high to low
    top = float(r.max() + 1e-3) if len(r) else 1.0
    none = M.abstention_outcomes(r, answerable, hit1, top)  # abstain on every question seen
    best = ((none["accuracy"] or 0.0, 0.0), top)
    for i, t in enumerate(distinct):
        oc = M.abstention_outcomes(r, answerable, hit1, t)
        if max_risk is not None and oc["risk"] > max_risk + 1e-12:
            continue
        key = (oc["accuracy"], -oc["risk"], oc["coverage"])
        key = (key[0], key[2]) if max_risk is not None else key
        if key > best[0]:
            below = distinct[i + 1] if i + 1 < len(distinct) else t - 0.01
            best = (key, float((t + below) / 2))
    return best[1]


def choose_threshold(raw: Sequence[float], answerable: Sequence[bool], hit1: Sequence[bool],
                     max_risk: float = MAX_RISK) -> tuple[float, dict]:
    """The rule's threshold and its outcomes on the fitting questions.

    When only "abstain on everything" meets the risk bound, that would switch qa off; the bound
    is then loosened in steps of 5 points until some question is answered (the least risky
    calibration that still answers), and the outcomes say ``risk_bound_met: false`` and which
    bound was used, so the report shows it.
    """
    r = np.asarray(raw, float)
    bound = max_risk
    thr = round(_search(r, answerable, hit1, bound), 4)
    oc = M.abstention_outcomes(r, answerable, hit1, thr)
    while oc["answered"] == 0 and len(r) and bound < 1.0:
        bound = min(1.0, round(bound + 0.05, 4))
        thr = round(_search(r, answerable, hit1, bound), 4)
        oc = M.abstention_outcomes(r, answerable, hit1, thr)
    oc["risk_bound_met"] = bound == max_risk
    oc["max_risk"] = max_risk
    oc["risk_bound_used"] = bound
    return thr, oc


def fit_platt(raw: Sequence[float], correct: Sequence[bool], l2: float = 1e-2, iters: int = 100) -> tuple[float, float]:
    """Newton's method, each step halved until the penalised loss falls: a full step from (1, 0)
    overshoots when the scores say little (76 seeds dev questions once ended at a = -1092)."""
    x, y = np.asarray(raw, float), np.asarray(correct, float)
    if len(x) == 0 or y.min() == y.max():
        raise ValueError("Platt scaling needs both correct and incorrect answers")

    def loss(a: float, b: float) -> float:
        z = a * x + b
        return float(np.sum(np.logaddexp(0, z) - y * z)) + 0.5 * l2 * a * a

    a, b = 1.0, 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * x + b, -60, 60)))
        g = np.array([np.sum((p - y) * x) + l2 * a, np.sum(p - y)])
        w = p * (1 - p)
        h = np.array([[np.sum(w * x * x) + l2, np.sum(w * x)], [np.sum(w * x), np.sum(w) + 1e-9]])
        step = np.linalg.solve(h, g)
        before, t = loss(a, b), 1.0
        while t > 1e-6 and loss(a - t * step[0], b - t * step[1]) > before:
            t /= 2
        a, b = a - t * step[0], b - t * step[1]
        if np.abs(t * step).max() < 1e-9:
            break
    return float(a), float(b)


def fit(raw: Sequence[float], answerable: Sequence[bool], hit1: Sequence[bool], fitted_on: str,
        previous: Calibration, max_risk: float = MAX_RISK, model_sha: str = "") -> tuple[Calibration, dict]:
    correct = [bool(a and h) for a, h in zip(answerable, hit1)]
    threshold, outcomes = choose_threshold(raw, answerable, hit1, max_risk)
    try:
        a, b = fit_platt(raw, correct)
    except ValueError:
        a, b = previous.a, previous.b
    rule = (f"threshold: max accuracy s.t. <= {max_risk:.0%} wrong among answered "
            f"(wrong = unanswerable answered, or top citation misses gold evidence)"
            + ("" if outcomes["risk_bound_met"] else
               f" [unreachable on dev except by abstaining on all; loosened to <= {outcomes['risk_bound_used']:.0%}, "
               f"dev risk {outcomes['risk']:.2f}]")
            + "; confidence: Platt scaling P(top citation correct | raw)")
    cal = Calibration(threshold=threshold, a=round(a, 4), b=round(b, 4), rule=rule,
                      fitted_on=f"{fitted_on}; {dt.date.today().isoformat()}", model_sha=model_sha)
    report = {
        "rule": rule,
        "fitted_on": cal.fitted_on,
        "threshold": threshold,
        "a": cal.a,
        "b": cal.b,
        "previous": {"threshold": previous.threshold, "a": previous.a, "b": previous.b},
        "dev": outcomes,
        "dev_previous": M.abstention_outcomes(raw, answerable, hit1, previous.threshold),
        "ece_dev_before": M.ece([previous.confidence(x) for x in raw], correct),
        "ece_dev_after": M.ece([cal.confidence(x) for x in raw], correct),
        "n_dev": len(raw),
    }
    return cal, report
