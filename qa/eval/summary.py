"""One mode's metrics from the runner's per-question results, and the per-question rows.

`summarize` turns `QuestionResult`s into the report's numbers (means, standard errors, bootstrap
intervals, abstention at the calibration under test, risk-coverage, latency percentiles);
`per_question_rows` writes what `qa eval compare` pairs questions by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.query.calibration import Calibration
from qa.eval import metrics as M
from qa.eval.suites import Suite

STAGES = ("embed", "bm25", "dense", "fuse", "answer", "total")


@dataclass
class QuestionResult:
    qid: str
    mode: str
    answerable: bool
    raw: float | None  # None: no answer composed (a suite that judges documents only)
    doc_ranking: list[str]  # documents at the engine's depth, best first
    deep_ranking: list[str]
    evidence_hits: list[bool] | None  # per retrieved chunk (first 10), None without evidence
    cited_hits: list[bool] | None  # per citation, the top-scored first
    first_cited: str
    answer_text: str
    em: float | None
    f1: float | None
    contains1: float | None
    contains: float | None
    timings: dict[str, float]

    @property
    def hit1(self) -> bool:
        return bool(self.cited_hits and self.cited_hits[0])


def summarize(suite: Suite, rows: list[QuestionResult], calibration: Calibration,
              per_q: dict[str, dict[str, float]] | None = None) -> dict:
    """Every metric of one mode, with standard errors and question counts.

    ``per_q`` (if given) receives each question's ranking metrics, for paired comparisons.
    """
    out: dict = {}
    se: dict[str, float | None] = {}
    ns: dict[str, int] = {}
    ci95: dict[str, list[float] | None] = {}  # percentile bootstrap over questions

    def put(name: str, values: list[float]):
        values = [v for v in values if v is not None]
        if values:
            out[name] = M.mean(values)
            se[name] = M.stderr(values)
            ns[name] = len(values)
            ci = M.bootstrap_ci(values)
            ci95[name] = [round(x, 4) for x in ci] if ci else None

    qrels = {q: rel for q, rel in suite.qrels.items()}
    main, per_main = M.ranx_metrics(qrels, {r.qid: r.doc_ranking for r in rows},
                                    ("ndcg@10", "recall@1", "recall@5", "recall@10", "mrr@10"))
    deep, per_deep = M.ranx_metrics(qrels, {r.qid: r.deep_ranking for r in rows}, ("recall@100",))
    for name in ("ndcg@10", "recall@1", "recall@5", "recall@10", "mrr@10"):
        if name in main:
            put(name, [v[name] for v in per_main.values()])
    if "recall@100" in deep:
        put("recall@100", [v["recall@100"] for v in per_deep.values()])
    if per_q is not None:
        for qid, v in per_main.items():
            per_q.setdefault(qid, {}).update(v)
        for qid, v in per_deep.items():
            per_q.setdefault(qid, {}).update(v)

    ans = [r for r in rows if r.answerable]
    with_ev = [r for r in ans if r.evidence_hits is not None]
    for k in (1, 5, 10):
        put(f"evidence_hit@{k}", [M.hit_at(r.evidence_hits, k) for r in with_ev])
    put("answer_hit@1", [float(r.hit1) for r in with_ev])
    put("answer_hit", [float(any(r.cited_hits or [])) for r in with_ev])
    put("citation_precision", [float(np.mean(r.cited_hits)) for r in with_ev if r.cited_hits])
    put("answer_contains@1", [r.contains1 for r in ans])
    put("answer_contains", [r.contains for r in ans])
    put("em", [r.em for r in ans])
    put("f1", [r.f1 for r in ans])

    answerable = [r.answerable for r in rows]
    if with_ev or suite.has_unanswerable:
        # "correct" = answerable and the first citation hits gold evidence
        scope = [r for r in rows if (r.evidence_hits is not None) or not r.answerable]
        correct = [r.answerable and r.hit1 for r in scope]
        s_raw = [r.raw for r in scope]
        oc = M.abstention_outcomes(s_raw, [r.answerable for r in scope], [r.hit1 for r in scope], calibration.threshold)
        rc = M.risk_coverage(s_raw, correct)
        out["abstention"] = {
            **oc,
            "auroc_correct": M.auroc(s_raw, correct),  # raw score (monotone with confidence) vs correct answer
            "auroc_answerable": M.auroc(s_raw, [r.answerable for r in scope]) if suite.has_unanswerable else None,
            "ece": M.ece([calibration.confidence(x) for x in s_raw], correct),
            "aurc": rc["aurc"],
            "risk_coverage": {k: [round(v, 5) for v in rc[k]] for k in ("coverage", "risk", "threshold")},
        }
        for key in ("accuracy", "answerable_accuracy", "unanswerable_accuracy", "coverage", "risk"):
            if oc.get(key) is not None and (suite.has_unanswerable or key in ("coverage", "risk")):
                out[f"abstain_{key}" if key == "accuracy" else key] = oc[key]
        if out["abstention"]["auroc_answerable"] is not None:
            out["auroc"] = out["abstention"]["auroc_answerable"]
        out["auroc_correct"] = out["abstention"]["auroc_correct"]
        out["ece"] = out["abstention"]["ece"]
    if all(r.raw is not None for r in rows):  # else no answer was composed: no confidence either
        out["mean_confidence"] = M.mean([calibration.confidence(r.raw) for r in rows])
    out["n_questions"] = len(rows)
    out["n_answerable"] = sum(answerable)
    # embed and total: over the questions encoded one at a time (EvalSettings.latency_sample)
    out["latency_ms"] = {s: M.percentiles([r.timings[s] for r in rows if s in r.timings]) for s in STAGES}
    out["stderr"] = se
    out["ci95"] = ci95
    out["n"] = ns
    return out


def per_question_rows(results: dict[str, list[QuestionResult]], calibrations: dict[str, Calibration],
                      ranking: dict[str, dict[str, dict[str, float]]] | None = None,
                      default_mode: str = "hybrid-weighted") -> list[dict]:
    """One row per question and mode; the answer text (first 400 characters) for the default mode only."""
    rows = []
    for mode, rs in results.items():
        calibration = calibrations[mode]
        for r in rs:
            rows.append({
                "qid": r.qid, "mode": mode, "answerable": r.answerable, "raw": r.raw,
                **((ranking or {}).get(mode, {}).get(r.qid, {})),
                **({} if r.raw is None else {  # None: no answer composed (documents-only suite)
                    "confidence": calibration.confidence(r.raw), "abstained": r.raw < calibration.threshold}),
                "docs": r.doc_ranking[:10],
                **({} if r.evidence_hits is None else {f"evidence_hit@{k}": M.hit_at(r.evidence_hits, k) for k in (1, 5, 10)}),
                "answer_hit@1": None if r.cited_hits is None else float(r.hit1),
                **({} if r.cited_hits is None else {"answer_hit": float(any(r.cited_hits)),
                    "citation_precision": float(np.mean(r.cited_hits)) if r.cited_hits else None}),
                "answer_contains@1": r.contains1, "answer_contains": r.contains, "em": r.em, "f1": r.f1, "total_ms": round(r.timings["total"], 2) if "total" in r.timings else None,
                **({"answer": r.answer_text[:400]} if mode == default_mode else {}),
            })
    return rows
