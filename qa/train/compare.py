"""The evidence for the chosen scorer: candidate models and feature ablations on the calibration split.

Every figure here is measured on the calibration split (never on a reported split) as top-1
accuracy: the share of answerable questions whose highest-scored quotable candidate hits gold
evidence, with a 95% bootstrap interval over questions.

Candidates:
- ``hand-set``: today's weights before the learned model, ``0.6*cos + 0.3*overlap + 0.05/rank``
  (its overlap also counted heading words: approximated here by adding ``heading_overlap``);
- ``pointwise``: logistic regression on single candidates;
- ``listwise``: the shipped scorer (`qa.train.fit.fit_listwise`);
- ``trees``: gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier, pointwise, the
  settings `qa train --scorer trees` ships: `qa.train.trees`).
"""

from __future__ import annotations

import time

import numpy as np

from qa.eval.metrics import bootstrap_ci
from qa.query.features import SENTENCE_FEATURES, quotable
from qa.train import fit as Fit
from qa.train.data import Item

_C = {n: i for i, n in enumerate(SENTENCE_FEATURES)}
GROUPS = {
    "cosine": ("cos", "cos_gap", "cos_rank", "neighbour_cos"),
    "lexical overlap": ("idf_overlap", "idf_overlap_gap", "rare_overlap", "rare_heading", "overlap", "bigram", "bm25",
                        "neighbour_overlap"),
    "heading and title": ("heading_overlap", "title_overlap", "heading_match"),
    "answer type": ("dose_match", "time_match", "number_match", "has_number"),
    "retrieval ranks": ("fused", "passage_rank", "bm25_rank", "dense_rank"),
    "shape and position": ("first_in_chunk", "position", "length", "short", "list_item", "lead_in", "anaphor",
                           "question_mark"),
}


def first_choice_hits(items: list[Item], score) -> list[float]:
    """Per answerable item: 1.0 when the highest-scored quotable candidate hits gold evidence."""
    return [float(i.y[int(np.argmax(quotable(i.x, score(i.x))))] > 0) for i in items if i.answerable]


def _summary(values: list[float], seconds: float | None = None) -> dict:
    ci = bootstrap_ci(values)
    return {"top1": round(float(np.mean(values)), 4) if values else None,
            "ci95": [round(x, 4) for x in ci] if ci else None, "n": len(values),
            **({"fit_s": round(seconds, 1)} if seconds is not None else {})}


def _measured(cal_items: list[Item], score, seconds: float | None = None) -> dict:
    """Top-1 on the calibration split, pooled (with its interval) and per source: a scorer that gains
    on the training suites' own kind of question may still lose on medquad-cancergov, the held-out corpus."""
    sources = sorted({i.source for i in cal_items})
    return {**_summary(first_choice_hits(cal_items, score), seconds),
            "by_source": {src: round(float(np.mean(h)), 4) if (h := first_choice_hits(
                [i for i in cal_items if i.source == src], score)) else None for src in sources}}


def _hand_set(x: np.ndarray) -> np.ndarray:
    return 0.6 * x[:, _C["cos"]] + 0.3 * np.minimum(1, x[:, _C["overlap"]] + x[:, _C["heading_overlap"]]) \
        + 0.05 * x[:, _C["passage_rank"]] - 0.1 * x[:, _C["lead_in"]]


def candidates(fit_items: list[Item], cal_items: list[Item], weights: np.ndarray, l2: float,
               trees: bool = True) -> dict:
    train = [i for i in fit_items if i.answerable]
    xs = [i.x for i in train]
    ys = [i.y for i in train]
    out = {"hand-set": _measured(cal_items, _hand_set)}
    t = time.perf_counter()
    rows_w = Fit.row_weights(xs, weights)
    point = Fit.fit_logistic(np.concatenate(xs), np.concatenate(ys), SENTENCE_FEATURES, rows_w, l2)
    out["pointwise"] = _measured(cal_items, point.logits, time.perf_counter() - t)
    t = time.perf_counter()
    listwise = Fit.fit_listwise(xs, ys, SENTENCE_FEATURES, weights, l2)
    out["listwise"] = _measured(cal_items, listwise.logits, time.perf_counter() - t)
    if trees:
        from qa.train.trees import fit_trees

        t = time.perf_counter()
        gb = fit_trees(xs, ys, SENTENCE_FEATURES, weights)
        out["trees"] = _measured(cal_items, gb.logits, time.perf_counter() - t)
    return out


def ablations(fit_items: list[Item], cal_items: list[Item], weights: np.ndarray, l2: float) -> dict:
    """Top-1 of the listwise scorer refitted with each feature group zeroed."""
    train = [i for i in fit_items if i.answerable]
    out = {}
    for group, names in GROUPS.items():
        cols = [_C[n] for n in names]

        def drop(x: np.ndarray) -> np.ndarray:
            x = x.copy()
            x[:, cols] = 0.0
            return x

        m = Fit.fit_listwise([drop(i.x) for i in train], [i.y for i in train], SENTENCE_FEATURES, weights, l2)
        out[f"without {group}"] = _summary(first_choice_hits(cal_items, lambda x: m.logits(drop(x))))
    return out
