"""A corpus's own calibration, fitted on out-of-fold logits of gold questions the model trained on.

The bundled corpus's calibration (``corpus/qa-calibration.json``) comes from eval/seeds dev, the
only gold questions written for it. `qa train` also fits on those questions (the scorer weighs
them 5x), so the shipped model's logits on them are not what it gives a new question, and a
threshold and confidence curve fitted on them describe the wrong scores.

Here every question of the source gets its logit from a scorer and abstainer refitted without the
third of the source's questions it belongs to (`fold_of`, the folds qa train cross-fits by; every
other source as qa train uses it), so each logit is what the model gives a question it never saw.
The threshold and confidence curve are then fitted on those logits by `qa.eval.calibrate.fit`,
the rule `qa eval --calibrate` uses (the most accurate threshold; Platt scaling). Only original
questions count (no perturbed or constructed copies): the same kind of question as a reported split.
On 2026-12-07 this moved the threshold down (-1.10 -> -1.32) and seeds test ECE from 0.156 to 0.109
(docs/eval.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.eval.calibrate import fit as fit_calibration
from qa.query.calibration import Calibration
from qa.train.data import Item
from qa.train.run import FOLDS, _question_rows, fit_models, fold_of


@dataclass(frozen=True)
class OutOfFold:
    qids: list[str]
    logits: np.ndarray  # each from the abstainer refitted without the question's fold
    answerable: np.ndarray
    correct: np.ndarray  # answerable and the refitted scorer's first choice hits gold


def is_original(item: Item) -> bool:
    """Not a perturbed (``~``) or without-gold (``#``) copy."""
    return "~" not in item.qid and "#" not in item.qid


def out_of_fold(items: list[Item], source: str, l2: float, scorer: str = "linear") -> OutOfFold:
    """Out-of-fold logits of ``source``'s original questions, both splits (one variant's items)."""
    held_all = [i for i in items if i.source == source and is_original(i)]
    if not held_all:
        raise ValueError(f"no questions of {source!r} among the training items")
    qids, z, ok = [], [], []
    for k in range(FOLDS):
        held = [i for i in held_all if fold_of(i.qid) == k]
        if not held:
            continue
        fitted = fit_models([i for i in items if not (i.source == source and fold_of(i.qid) == k)], l2, scorer)
        qf, correct = _question_rows(held, lambda it: fitted.scorer)
        qids += [i.qid for i in held]
        z += fitted.abstainer.logits(qf).tolist()
        ok += correct.tolist()
    answerable = {i.qid: i.answerable for i in held_all}
    return OutOfFold(qids, np.array(z), np.array([answerable[q] for q in qids]), np.array(ok))


def corpus_calibration(items: list[Item], source: str, l2: float, previous: Calibration,
                       model_sha: str, scorer: str = "linear", compare: tuple[str, ...] = ()) -> tuple[Calibration, dict]:
    """The calibration for ``source``'s corpus, fitted on out-of-fold logits, and its report, with
    the out-of-fold top-1 of ``scorer`` and of each scorer kind in ``compare``: held-out evidence
    for the kind on the corpus's own questions."""
    oof = out_of_fold(items, source, l2, scorer)
    cal, report = fit_calibration(
        oof.logits.tolist(), oof.answerable.tolist(), oof.correct.tolist(),
        f"qa train: out-of-fold logits of {source} ({len(oof.qids)} original questions, {FOLDS} folds, "
        "mode hybrid-weighted)", previous, model_sha=model_sha)
    top1 = {scorer: _top1(oof), **{k: _top1(out_of_fold(items, source, l2, k)) for k in compare if k != scorer}}
    report["out_of_fold"] = {"answerable": int(oof.answerable.sum()), "correct": int(oof.correct.sum()),
                             "n": len(oof.qids), "scorer": scorer, "top1_by_scorer": top1}
    return cal, report


def _top1(oof: OutOfFold) -> float | None:
    """Share of the answerable questions whose first choice hits gold."""
    return round(float(oof.correct[oof.answerable].mean()), 4) if oof.answerable.any() else None
