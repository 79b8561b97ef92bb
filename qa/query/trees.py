"""A boosted tree ensemble as plain arrays: a sentence scorer `qa train --scorer trees` fits, no pickle.

What trees gain, and why the linear scorer still ships (`eval/reports/train-trees`, 2026-12-07): on
qa train's calibration split trees rank the answering sentence first for 0.715 of answerable
questions against 0.691 for the linear listwise scorer, all of it on medquad, the suite most of the
training questions come from (0.833 vs 0.776); on the corpora unlike their training data they lose:
medquad-cancergov dev 0.738 vs 0.744, covid-qa 0.493 vs 0.511, and on the bundled corpus's own
questions (eval/seeds dev, out of fold) 0.444 vs 0.611. A site with many gold questions of its own
kind may find otherwise; `qa train`'s report measures both.

The ensemble is stored as one table per field, trees padded to the same node count, and evaluated
for all trees and rows at once, one tree level per step (each step a handful of numpy gathers over
rows x trees): ~60 candidates through 100-200 shallow trees in well under a millisecond. A node
sends a row left when its feature is <= the threshold, or when it is NaN and ``missing_left``
(scikit-learn's rule, which `qa.train.trees.from_sklearn` converts from); a leaf has feature -1.

>>> t = TreeEnsemble(("a", "b"), 0.5, feature=((0, -1, -1),), threshold=((1.0, 0.0, 0.0),),
...                  left=((1, 0, 0),), right=((2, 0, 0),), value=((0.0, -1.0, 2.0),),
...                  missing_left=((False, False, False),))
>>> t.logits(np.array([[0.5, 9.0], [3.0, 9.0]], dtype=np.float32)).tolist()
[-0.5, 2.5]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KIND = "trees"
# the stored tables, one row per tree, and the type of their cells
TABLES = {"feature": int, "threshold": float, "left": int, "right": int, "value": float, "missing_left": bool}


class TreeError(ValueError):
    """The stored ensemble is inconsistent (arrays of different shapes, links out of range)."""


@dataclass(frozen=True)
class TreeEnsemble:
    features: tuple[str, ...]
    baseline: float
    feature: tuple[tuple[int, ...], ...]  # per tree, per node: the feature's column; -1 at a leaf
    threshold: tuple[tuple[float, ...], ...]
    left: tuple[tuple[int, ...], ...]
    right: tuple[tuple[int, ...], ...]
    value: tuple[tuple[float, ...], ...]  # a leaf's contribution to the logit
    missing_left: tuple[tuple[bool, ...], ...]

    def __post_init__(self):
        if len({tuple(len(r) for r in getattr(self, k)) for k in TABLES}) != 1:
            raise TreeError("tree tables differ in shape")
        t = {k: _padded(getattr(self, k), cast) for k, cast in TABLES.items()}
        f, lo, hi = t["feature"], t["left"], t["right"]
        n_trees, n_nodes = f.shape
        node = np.arange(n_nodes)[None, :]
        # a child always comes after its parent (so no walk can loop) and inside its tree
        bad = (f >= 0) & ((lo <= node) | (hi <= node) | (lo >= n_nodes) | (hi >= n_nodes))
        if f.max(initial=-1) >= len(self.features) or bad.any():
            raise TreeError("a tree node points outside its tree or its feature list")
        # flat tables indexed by tree * n_nodes + node; a leaf (and padding) is its own child on both
        # sides, so a walk needs no leaf test: every row just takes `depth` steps
        flat = np.arange(n_trees * n_nodes).reshape(n_trees, n_nodes)
        root = flat[:, :1]
        inner = f >= 0
        child = np.stack([np.where(inner, root + lo, flat), np.where(inner, root + hi, flat)], axis=-1)
        for name, table in (("_feature", np.where(inner, f, 0)), ("_threshold", np.where(inner, t["threshold"], np.inf)),
                            ("_missing_left", t["missing_left"]), ("_value", t["value"]),
                            ("_child", child)):  # _child[2 * node] left, [2 * node + 1] right
            object.__setattr__(self, name, table.ravel())
        object.__setattr__(self, "_offset", root.T)
        object.__setattr__(self, "_depth", _depth(f, lo, hi))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The ensemble's raw score (log-odds) for each row of ``x``."""
        n = len(x)
        if n == 0 or self._offset.size == 0:
            return np.full(n, self.baseline)
        xs = np.asarray(x, np.float64)
        flat_x, width = xs.ravel(), xs.shape[1]
        missing = bool(np.isnan(flat_x).any())  # never in qa's own features; kept for the rule's sake
        at = np.repeat(self._offset, n, axis=0)  # every row at every tree's root
        rows = np.arange(n)[:, None] * width
        for _ in range(self._depth):
            v = flat_x[rows + self._feature[at]]
            go_right = ~(v <= self._threshold[at])  # NaN compares False: right unless missing_left
            if missing:
                go_right &= ~(np.isnan(v) & self._missing_left[at])
            at = self._child[2 * at + go_right]
        return self.baseline + self._value[at].sum(axis=1)

    def to_dict(self) -> dict:
        return {"kind": KIND, "features": list(self.features), "baseline": self.baseline,
                **{k: [list(r) for r in getattr(self, k)] for k in TABLES}}

    @classmethod
    def from_dict(cls, d: dict) -> TreeEnsemble:
        return cls(tuple(d["features"]), float(d["baseline"]),
                   **{k: tuple(tuple(cast(v) for v in r) for r in d[k]) for k, cast in TABLES.items()})


def _padded(rows: tuple[tuple, ...], cast: type) -> np.ndarray:
    """The rows as one array, short trees padded (with -1, a leaf, for ints)."""
    width = max((len(r) for r in rows), default=0)
    dtype = {int: np.int64, float: np.float64, bool: np.bool_}[cast]
    out = np.full((len(rows), width), -1 if cast is int else 0, dtype=dtype)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def _depth(feature: np.ndarray, left: np.ndarray, right: np.ndarray) -> int:
    """The deepest leaf's depth over all trees: how many levels `logits` steps through."""
    deepest = 0
    for f, lo, hi in zip(feature, left, right):
        stack = [(0, 0)]
        while stack:
            node, d = stack.pop()
            if f[node] < 0:
                deepest = max(deepest, d)
            else:
                stack += [(int(lo[node]), d + 1), (int(hi[node]), d + 1)]
    return deepest
