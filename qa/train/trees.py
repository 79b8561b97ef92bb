"""Fitting the tree scorer: scikit-learn's histogram gradient boosting, converted to `TreeEnsemble`.

scikit-learn is needed only here (the ``eval`` extra); answering evaluates the stored arrays with
numpy. Pointwise (each candidate a row, labelled by whether it hits gold evidence), each question's
weight spread over its candidates as the linear scorer's question weights are.
"""

from __future__ import annotations

import numpy as np

from qa.query.trees import TreeEnsemble
from qa.train.fit import row_weights

# 150 rounds of depth <= 6: `TreeEnsemble.logits` steps one level at a time, so depth, not leaf
# count, sets its cost; qa.train.compare measured 200 unbounded-depth rounds at 0.716 top-1
SETTINGS = {"max_iter": 150, "learning_rate": 0.1, "max_depth": 6, "max_leaf_nodes": 31, "random_state": 0}


def fit_trees(xs: list[np.ndarray], ys: list[np.ndarray], features: tuple[str, ...],
              weights: np.ndarray | None = None) -> TreeEnsemble:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows_w = row_weights(xs, weights)
    gb = HistGradientBoostingClassifier(**SETTINGS)
    gb.fit(np.concatenate(xs), np.concatenate(ys) > 0, sample_weight=rows_w * len(rows_w))
    return from_sklearn(gb, features)


def from_sklearn(gb, features: tuple[str, ...]) -> TreeEnsemble:
    """The fitted binary classifier's trees as plain tables (numeric splits only)."""
    trees = [p[0].nodes for p in gb._predictors]
    if any(n["is_categorical"].any() for n in trees):
        raise ValueError("categorical splits are not supported")

    def table(field, cast):
        return tuple(tuple(cast(v) for v in n[field]) for n in trees)

    feature = tuple(tuple(-1 if leaf else int(f) for f, leaf in zip(n["feature_idx"], n["is_leaf"])) for n in trees)
    return TreeEnsemble(tuple(features), float(np.ravel(gb._baseline_prediction)[0]), feature,
                        table("num_threshold", float), table("left", int), table("right", int),
                        table("value", float), table("missing_go_to_left", bool))
