"""`qa train`: collect gold items, fit both variants, calibrate, and write the model and a report.

Sources and their roles (the data card, docs/data-card.md, says the same with counts):

    covid-qa train          fit + calibrate (hash split)   reported: covid-qa dev
    medquad dev (less CG)   fit + calibrate (hash split)   reported: medquad-cancergov test
    eval/seeds dev          fit + calibrate (hash split)   reported: eval/seeds test
    medquad-cancergov dev   calibrate only

Every source is also asked as perturbed (`qa.train.perturb`, seeded), so the model sees
questions as clinicians type them. No reported split is read here.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from qa.query.answer_model import AnswerModel, Variant
from qa.query.trees import TreeEnsemble
from qa.query.calibration import Calibration
from qa.query.features import QUESTION_FEATURES, SENTENCE_FEATURES, question_vector, quotable
from qa.train import compare
from qa.train import fit as Fit
from qa.train.data import Item, collect, medquad_training_docs
from qa.eval.perturb import perturb

Scorer = Fit.LinearModel | TreeEnsemble
SCORERS = ("linear", "trees")
ROLES = {"covid-qa": "fit", "medquad": "fit", "seeds": "fit", "medquad-cancergov": "calibrate"}
_HEADING = SENTENCE_FEATURES.index("heading_like")


@dataclass(frozen=True)
class TrainSettings:
    shared: Path  # ../shared/data
    seeds: Path  # eval/seeds
    seed: int = 0  # the perturbation's seed (the fit itself is deterministic)
    alpha: float = 0.10  # most wrong-among-answered allowed, as a 95% upper bound on the calibration split
    calibrate_share: float = 0.3
    construct_share: float = 0.5  # answerable questions also asked without their gold documents
    perturbed: bool = True
    limit: int | None = None  # smoke runs: first N questions of each source
    l2: float = 1e-3
    scorer: str = "linear"  # the sentence scorer's kind (SCORERS)
    compare_trees: bool = True  # also measure gradient-boosted trees (report only; ~1 min)
    sources: tuple[str, ...] = tuple(ROLES)  # a subset for smoke runs (seeds alone needs no ../shared)
    cache_dir: Path | None = None  # suite indexes (default eval/cache, shared with qa eval)

    def __post_init__(self):
        if not 0 < self.alpha < 1 or not 0 < self.calibrate_share < 1 or not 0 <= self.construct_share <= 1:
            raise ValueError("alpha and calibrate_share must be in (0, 1), construct_share in [0, 1]")
        if self.scorer not in SCORERS:
            raise ValueError(f"unknown scorer {self.scorer!r}; choose from {', '.join(SCORERS)}")
        unknown = set(self.sources) - set(ROLES)
        if unknown or not self.sources:
            raise ValueError(f"unknown training source(s) {', '.join(sorted(unknown)) or '(none given)'}; "
                             f"choose from {', '.join(ROLES)}")


FOLDS = 3  # cross-fitting folds, by question id


def fold_of(qid: str, k: int = FOLDS) -> int:
    """A question, its perturbed copy and its without-gold copy share one fold."""
    base = qid.split("#")[0].rstrip("~")
    return int(hashlib.sha256(base.encode()).hexdigest()[:8], 16) % k


# eval/seeds dev is the only gold set written for the bundled corpus and as clinicians ask (54
# answerable questions). Weight 5 (its total as if it had 25x its questions), chosen by
# eval/answer_cv.py (3-fold over seeds dev; covid-qa calibration and medquad-cancergov dev, which
# nothing fits on) on 2026-12-06: mean top-1 of the three 0.635 / 0.644 / 0.618 / 0.600 at weights
# 2 / 5 / 10 / 20 (seeds 0.574 / 0.611 / 0.556 / 0.519, cancergov 0.802 / 0.796 / 0.785 / 0.790).
# A trial list-context feature (a lead-in's best item overlap, an item's lead-in's) added nothing
# (0.640 at weight 5), so it is not a feature. `inline_items` (list items run together in one unit)
# was tried the same way on 2026-12-07 and kept: cancergov dev 0.787 -> 0.802, seeds 0.556 and
# covid-qa 0.520 unchanged (indexes of an AVX-512 EPYC).
SOURCE_WEIGHT = {"seeds": 5.0}
# The abstainer weighs every source alike (eval/answer_cv.py --abstainer-weights, 2026-12-06): the
# seeds' weight 5 there lowered its AUROC for "first citation correct" on every calibration group it
# never fits on but the seeds' own 29 (medquad-cancergov dev 0.902 -> 0.876, covid-qa 0.869 ->
# 0.859, medquad 0.895 -> 0.889; seeds 0.848 -> 0.853).
ABSTAINER_SOURCE_WEIGHT: dict[str, float] = {}


def _source_weights(items: list[Item], extra: dict[str, float] = SOURCE_WEIGHT) -> np.ndarray:
    """Each source weighs as the square root of its size (times ``extra``): covid-qa and medquad
    do not drown the seeds' clinical guideline questions."""
    n = Counter(i.source for i in items)
    return np.array([extra.get(i.source, 1.0) / np.sqrt(n[i.source]) for i in items])


def _trainable(items: list[Item]) -> list[Item]:
    """Answerable items: only they teach the ranking (`_xy` drops their never-quotable headings)."""
    return [i for i in items if i.answerable]


def _xy(items: list[Item]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    xs, ys = [], []
    for i in items:
        keep = i.x[:, _HEADING] == 0
        xs.append(i.x[keep])
        ys.append(i.y[keep])
    return xs, ys


def _question_rows(items: list[Item], scorer_of: Callable[[Item], Fit.LinearModel]):
    """(question features, first choice correct) for each item, with logits from ``scorer_of(item)``."""
    qf, ok = [], []
    for it in items:
        logits = quotable(it.x, scorer_of(it).logits(it.x))
        qf.append(question_vector(it.engine.features, it.terms, it.x, logits, it.cands, it.hits))
        ok.append(bool(it.answerable and it.y[int(np.argmax(logits))] > 0))
    return np.array(qf, np.float32), np.array(ok)


def fit_scorer(xs: list[np.ndarray], ys: list[np.ndarray], w: np.ndarray, l2: float, kind: str = "linear"):
    """One sentence scorer of ``kind``: linear listwise, or boosted trees (`qa.train.trees`)."""
    if kind == "trees":
        from qa.train.trees import fit_trees

        return fit_trees(xs, ys, SENTENCE_FEATURES, w)
    return Fit.fit_listwise(xs, ys, SENTENCE_FEATURES, w, l2)


def fit_scorers(train: list[Item], w: np.ndarray, l2: float, kind: str = "linear") -> tuple[Scorer, dict[int, Scorer]]:
    """The sentence scorer on all of ``train``, and one per fold fitted without that fold (the
    abstainer learns from out-of-fold scores, as it will meet the scorer on new questions)."""
    xs, ys = _xy(train)
    folds = {}
    for k in range(FOLDS):
        idx = [j for j, it in enumerate(train) if fold_of(it.qid) != k]
        folds[k] = fit_scorer([xs[j] for j in idx], [ys[j] for j in idx], w[idx], l2, kind)
    return fit_scorer(xs, ys, w, l2, kind), folds


@dataclass(frozen=True)
class Fitted:
    """A variant's scorer and abstainer, with what they were fitted on (for the report)."""

    scorer: Scorer
    abstainer: Fit.LinearModel
    train: list[Item]  # the answerable fit items that taught the scorer
    weights: np.ndarray  # their weights


def fit_models(items: list[Item], l2: float, scorer: str = "linear") -> Fitted:
    """The scorer on the fit split's answerable items, and the abstainer on out-of-fold scores of
    every fit item (the calibrate split is not read)."""
    fit_items = [i for i in items if i.split == "fit"]
    train = _trainable(fit_items)
    w = _source_weights(train)
    model, folds = fit_scorers(train, w, l2, scorer)
    qf, ok = _question_rows(fit_items, lambda it: folds[fold_of(it.qid)])  # out-of-fold scores
    abstainer = Fit.fit_logistic(qf, ok, QUESTION_FEATURES, _source_weights(fit_items, ABSTAINER_SOURCE_WEIGHT), l2)
    return Fitted(model, abstainer, train, w)


def fit_variant(name: str, items: list[Item], s: TrainSettings) -> tuple[Variant, dict]:
    fit_items = [i for i in items if i.split == "fit"]
    cal_items = [i for i in items if i.split == "calibrate"]
    f = fit_models(items, s.l2, s.scorer)
    scorer, abstainer, train, w = f.scorer, f.abstainer, f.train, f.weights
    cqf, cok = _question_rows(cal_items, lambda it: scorer)
    z = abstainer.logits(cqf)
    try:
        a, b = Fit.platt(z, cok)
    except ValueError:  # a calibration split with one outcome only (a smoke run): no curve to fit
        a, b = 1.0, 0.0
    th = Fit.risk_threshold(z, cok, s.alpha)
    cal = Calibration(threshold=round(th.value, 4), a=round(a, 4), b=round(b, 4),
                      rule=(f"abstain below the lowest logit whose one-sided 95% Clopper-Pearson bound on wrong among "
                            f"answered is <= {s.alpha:.0%} (calibration split); confidence: Platt scaling of the "
                            f"abstainer's logit, P(first citation hits gold)"),
                      fitted_on=f"qa train, variant {name}: {len(cal_items)} calibration questions")
    report = {
        "candidates": compare.candidates(train, cal_items, w, s.l2, trees=s.compare_trees),
        "ablations": compare.ablations(train, cal_items, w, s.l2),
        "fit_questions": len(fit_items), "calibrate_questions": len(cal_items), "ranked_questions": len(train),
        "threshold": th.__dict__,
        "scorer": s.scorer,
        **({"scorer_weights": dict(zip(SENTENCE_FEATURES, np.round(np.array(scorer.weights), 4).tolist()))}
           if isinstance(scorer, Fit.LinearModel) else {"scorer_trees": len(scorer.feature)}),
        "abstainer_weights": dict(zip(QUESTION_FEATURES, np.round(np.array(abstainer.weights), 4).tolist())),
    }
    return Variant(scorer, abstainer, cal), report


def top1(items: list[Item], score: Callable[[np.ndarray], np.ndarray]) -> float:
    """Share of answerable items whose first choice hits gold evidence."""
    hits = compare.first_choice_hits(items, score)
    return float(np.mean(hits)) if hits else float("nan")


def _sources(s: TrainSettings):
    """(name, suite, docs or None, cache note) for each source in ``s.sources``, read lazily."""
    from qa.eval.suites import load_suite

    for name in s.sources:
        if name == "medquad":
            suite, docs, note = medquad_training_docs(s.shared)
            yield name, suite, docs, note
        elif name == "seeds":
            yield name, load_suite(s.seeds, "dev", None), None, ""
        else:
            yield name, load_suite(s.shared / name, "train" if name == "covid-qa" else "dev", None), None, ""


def collect_all(s: TrainSettings, embedder, progress: Callable[[str, int, int], None] | None = None,
                log: Callable[[str], None] = lambda m: None, questions=None) -> dict[str, list[Item]]:
    """Items per variant ('hybrid', 'lexical') over every source, original and perturbed; ``questions``
    (default ``embedder``) encodes the questions, as `qa ask` would."""
    from qa.eval.cache import cached_index
    from qa.query.answer_model import UNFITTED
    from qa.query.engine import Engine

    out: dict[str, list[Item]] = {"hybrid": [], "lexical": []}
    for name, suite, docs, note in _sources(s):
        if s.limit:
            suite = suite.limit(s.limit)
        t = time.perf_counter()
        index_dir, reused = cached_index(suite.corpus, embedder, name="medquad-train" if name == "medquad" else suite.name,
                                         docs=docs, docs_note=note, corpus_sha=suite.corpus_sha, cache_dir=s.cache_dir,
                                         progress=(lambda st, d, n: progress(f"index {name}", d, n)) if progress else None)
        engine = Engine.load(index_dir, questions or embedder, model=UNFITTED, abstain=False)
        log(f"{name}: index {'reused' if reused else 'built'} ({time.perf_counter() - t:.0f} s), "
            f"{len(suite.queries)} questions")
        only = "calibrate" if ROLES[name] == "calibrate" else None
        texts = [None] + ([{q.qid: perturb(q.text, q.qid, s.seed) for q in suite.queries}] if s.perturbed else [])
        total = len(suite.queries) * len(texts) * 2
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(f"collect {name}", done, total)

        for variant in ("hybrid", "lexical"):
            for tx in texts:
                out[variant] += collect(engine, suite, name, lexical=variant == "lexical",
                                        calibrate_share=s.calibrate_share, construct_share=s.construct_share,
                                        texts=tx, only_split=only, tick=tick)
    return out


def train(s: TrainSettings, embedder, progress=None, log=lambda m: None, questions=None) -> tuple[AnswerModel, dict]:
    t0 = time.perf_counter()
    items = collect_all(s, embedder, progress, log, questions)
    t1 = time.perf_counter()
    variants, reports = {}, {}
    for name, its in items.items():
        variants[name], reports[name] = fit_variant(name, its, s)
        reports[name]["calibrate_top1"] = {
            "learned": top1([i for i in its if i.split == "calibrate"], variants[name].scorer.logits),
        }
        log(f"{name}: threshold {variants[name].calibration.threshold} "
            f"(calibration coverage {reports[name]['threshold']['coverage']:.3f}, "
            f"risk {reports[name]['threshold']['risk']:.3f})")
    info = {
        "trained": time.strftime("%Y-%m-%d"),
        "settings": {k: v for k, v in s.__dict__.items() if k not in ("shared", "seeds", "cache_dir")},
        "data": data_card(items["hybrid"]),
        "fit": {k: {kk: vv for kk, vv in r.items() if kk in ("fit_questions", "calibrate_questions", "threshold",
                                                          "calibrate_top1")} for k, r in reports.items()},
        "seconds": {"collect": round(t1 - t0, 1), "fit": round(time.perf_counter() - t1, 1)},
    }
    return AnswerModel(variants, info), {"reports": reports, "items": items}


def data_card(items: list[Item]) -> dict:
    """Counts by source, split and label (the numbers docs/data-card.md quotes)."""
    card: dict = {}
    for i in items:
        kind = ("perturbed " if "~" in i.qid else "") + ("answerable" if i.answerable else
                                                         "without gold" if "#without-gold" in i.qid else "unanswerable")
        key = f"{i.source}/{i.split}"
        card.setdefault(key, Counter())[kind] += 1
    return {k: dict(v) for k, v in sorted(card.items())}
