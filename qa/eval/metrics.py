"""Metrics: document retrieval (ranx), passage and answer hits, SQuAD EM/F1, abstention.

Definitions (all means are over the questions the metric applies to; ``n_*`` fields say how many):

- Document metrics (nDCG@10, Recall@1/5/10/100, MRR@10) come from ranx over the qrels, on the
  questions that have at least one relevant (score > 0) document. qa retrieves chunks; a
  document's rank is the rank of its best chunk.
- ``evidence_hit@k``: one of the first k retrieved chunks overlaps a gold evidence span (same
  document, character ranges intersect), or contains the evidence text where no offset is known.
- ``answer_hit@1``: the answer's top-scored cited sentence (its first choice; citations are
  displayed in reading order) overlaps gold evidence; ``answer_hit``: any cited
  sentence does. ``answer_contains@1`` / ``answer_contains``: a gold short answer, normalised,
  is a substring of the first cited sentence / of the whole answer.
- ``em`` / ``f1``: SQuAD exact match and token F1 (lower case, punctuation and articles removed,
  whitespace collapsed) of the top-scored cited sentence against the best gold answer.
- ``citation_precision``: share of an answer's cited sentences that overlap gold evidence.
- Abstention: a question is *answered correctly* when it is answerable and the first citation
  hits gold evidence (top-scored citation). ``abstain_accuracy`` = (correct answers + abstentions on unanswerable) / n;
  ``risk`` = wrong answers / answered. AUROC is computed by the Mann-Whitney statistic.
"""

from __future__ import annotations

import math
import re
import string
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.stats import beta as beta_dist

RANK_METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10")


# -- document ranking (ranx) ---------------------------------------------------------------------

def doc_ranking(doc_ids: Iterable[str]) -> list[str]:
    """Documents in order of their first (best) chunk."""
    return list(dict.fromkeys(doc_ids))


def ranx_metrics(qrels: dict[str, dict[str, int]], runs: dict[str, list[str]],
                 metrics: Sequence[str] = RANK_METRICS) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-question values of ``metrics`` over questions with a relevant document.

    ``runs`` maps a question to its ranked document ids (best first). Scores handed to ranx are
    strictly decreasing with rank, so ranx sees exactly our order.
    """
    from ranx import Qrels, Run, evaluate

    rel = {q: {d: int(s) for d, s in docs.items() if s > 0} for q, docs in qrels.items()}
    rel = {q: d for q, d in rel.items() if d}
    if not rel:
        return {}, {}
    run = {}
    for q in rel:
        ranked = runs.get(q) or []
        run[q] = {d: float(len(ranked) - i) for i, d in enumerate(ranked)} or {"\x00none": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per = evaluate(Qrels.from_dict(rel), Run.from_dict(run), list(metrics), return_mean=False)
    if not isinstance(per, dict):  # one metric: ranx returns the array itself
        per = {metrics[0]: per}
    qids = list(Run.from_dict(run).keys())  # ranx's own (sorted) order of the arrays
    per_q = {q: {m: float(per[m][i]) for m in metrics} for i, q in enumerate(qids)}
    means = {m: float(np.mean(per[m])) for m in metrics}
    means["n_ranked"] = len(rel)
    return means, per_q


# -- spans ---------------------------------------------------------------------------------------

def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def span_hits(doc_id: str, start: int, end: int, text: str, gold: Sequence[tuple[str, int | None, int | None, str]]) -> bool:
    """Whether a retrieved/cited span hits any gold evidence ``(doc_id, start, end, text)``.

    With offsets: same document and overlapping ranges. Without (start None): the gold text,
    whitespace-normalised, is contained in the span's text (or, for short spans, the span's text
    in the gold) in the same document, or in any document when the gold names none.
    """
    for g_doc, g_start, g_end, g_text in gold:
        if g_doc and g_doc != doc_id:
            continue
        if g_start is not None and g_end is not None:
            if overlaps(start, end, g_start, g_end):
                return True
        else:
            a, b = _ws(text), _ws(g_text)
            if b and (b in a or (a and a in b)):
                return True
    return False


def _ws(s: str) -> str:
    return " ".join(s.split()).lower()


def hit_at(hits: Sequence[bool], k: int) -> float:
    return float(any(hits[:k]))


# -- SQuAD answer scoring ------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalisation: lower, drop punctuation and articles, collapse whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def best_over(fn, prediction: str, golds: Sequence[str]) -> float:
    return max((fn(prediction, g) for g in golds), default=0.0)


def contains_answer(text: str, golds: Sequence[str]) -> float:
    t = normalize_answer(text)
    return float(any(normalize_answer(g) and normalize_answer(g) in t for g in golds))


# -- abstention ----------------------------------------------------------------------------------

def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve (probability a positive outscores a negative; ties count half)."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def risk_coverage(scores: Sequence[float], correct: Sequence[bool]) -> dict:
    """Answer the most confident first: coverage and risk (share wrong among answered) at each cut.

    Returns the curve (one point per distinct score) and AURC, the mean risk over coverages.
    """
    s, c = np.asarray(scores, dtype=float), np.asarray(correct, dtype=bool)
    n = len(s)
    if n == 0:
        return {"coverage": [], "risk": [], "threshold": [], "aurc": None}
    order = np.argsort(-s, kind="mergesort")
    wrong = np.cumsum(~c[order])
    cov, risk, thr = [], [], []
    for i in range(n):
        if i + 1 < n and s[order[i + 1]] == s[order[i]]:
            continue  # a threshold cannot split tied scores
        cov.append((i + 1) / n)
        risk.append(float(wrong[i] / (i + 1)))
        thr.append(float(s[order[i]]))
    aurc = float(np.mean(wrong / np.arange(1, n + 1)))
    return {"coverage": cov, "risk": risk, "threshold": thr, "aurc": aurc}


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided binomial interval for k of n; the upper end is the one-sided bound at (1+level)/2.

    Callers wanting a one-sided 95% upper bound pass level=0.90.
    """
    if n == 0:
        return 0.0, 1.0
    a = 1 - level
    lo = 0.0 if k == 0 else float(beta_dist.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_dist.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi



def bootstrap_ci(values: Sequence[float], n_boot: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of the mean (fixed seed: the same report twice is identical)."""
    v = np.asarray([x for x in values if x is not None], float)
    if len(v) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def abstention_outcomes(raw: Sequence[float], answerable: Sequence[bool], hit1: Sequence[bool], threshold: float) -> dict:
    """Counts and rates of what qa does at ``threshold`` (answer when raw >= threshold)."""
    r, a, h = np.asarray(raw, float), np.asarray(answerable, bool), np.asarray(hit1, bool)
    answered = r >= threshold
    correct_answer = answered & a & h
    wrong = answered & ~(a & h)
    correct_abstain = ~answered & ~a
    n, n_ans, n_un = len(r), int(a.sum()), int((~a).sum())
    out = {
        "threshold": float(threshold),
        "n": n, "n_answerable": n_ans, "n_unanswerable": n_un,
        "answered": int(answered.sum()),
        "coverage": float(answered.mean()) if n else None,
        "accuracy": float((correct_answer.sum() + correct_abstain.sum()) / n) if n else None,
        "risk": float(wrong.sum() / answered.sum()) if answered.any() else 0.0,
        "wrong_answers": int(wrong.sum()),
        "risk_ci95": list(clopper_pearson(int(wrong.sum()), int(answered.sum()))),
        # accuracy on each kind of question, as the issue asks for the seeds
        "answerable_accuracy": float(correct_answer[a].mean()) if n_ans else None,  # answered and cited gold
        "answerable_answered": float(answered[a].mean()) if n_ans else None,
        "unanswerable_accuracy": float(correct_abstain[~a].mean()) if n_un else None,  # abstained
    }
    return out


def ece(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float | None:
    """Expected calibration error with equal-width bins."""
    p, y = np.asarray(confidence, float), np.asarray(correct, float)
    if len(p) == 0:
        return None
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


# -- summaries -----------------------------------------------------------------------------------

def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    v = np.asarray(values, float)
    return {"p50": round(float(np.percentile(v, 50)), 3), "p95": round(float(np.percentile(v, 95)), 3),
            "mean": round(float(v.mean()), 3)}


def mean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(vals)) if vals else None


def stderr(values: Sequence[float]) -> float | None:
    vals = np.asarray([v for v in values if v is not None], float)
    if len(vals) < 2:
        return None
    return float(vals.std(ddof=1) / math.sqrt(len(vals)))
