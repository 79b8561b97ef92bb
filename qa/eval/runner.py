"""Running a suite through qa: one encoding per question, every mode side by side.

For each question the expanded question is encoded once (the first ``latency_sample`` one at a
time, as ``qa ask`` does, the rest in batches); each mode then runs exactly what
``qa ask --mode M`` runs (``Engine.ask``; mode ``bm25`` without a question vector, as there). The
ranking metrics read ask's own fused hits from its trace (nDCG@10, Recall@1/5/10, MRR@10,
evidence hits), plus one deep retrieval (``deep_k`` chunks; Recall@100) that ask never makes. A
suite that judges documents only (no evidence, answers or unanswerable questions) runs the two
retrievals alone: no answer is composed, and its index has no sentence vectors.

The engine is built with ``abstain=False``, so every answer is composed and scored; whether qa
would have abstained is decided here from the raw score and the
calibration under test. Answer metrics are therefore those of the answer qa would give if it
answered; abstention metrics say when it does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


from qa.query.calibration import Calibration
from qa.embed.choice import SPEED_FLAGS, cpu_flags
from qa.query.engine import Engine, RetrievalParams
from qa.query.question import resolve_mode
from qa.query.answer import AnswerParams
from qa.eval import metrics as M
from qa.eval.suites import Query, Suite
from qa.eval.summary import QuestionResult, per_question_rows, summarize



def calibration_for(engine: Engine, mode: str, override: Calibration | None = None) -> Calibration:
    """The calibration a mode's answers are judged with: the answer model's own for its variant
    (bm25 -> lexical), or ``override`` (a dev fit) for the modes with a question vector."""
    variant = engine.variant_for(mode != "bm25")  # as ask decides it (bm25 mode has no question vector)
    return override if override is not None and variant == "hybrid" else engine.calibrations[variant]


def parse_modes(text: str) -> list[str]:
    out = []
    for m in (x.strip() for x in text.split(",")):
        if not m:
            continue
        m = resolve_mode(m)
        if m not in out:
            out.append(m)
    if not out:
        raise ValueError("no modes given")
    return out


@dataclass
class EvalSettings:
    modes: list[str] = field(default_factory=lambda: ["bm25", "dense", "hybrid", "hybrid-weighted"])
    default_mode: str = "hybrid-weighted"  # the engine default (qa.query.engine.DEFAULT_MODE)
    top_k: int = 5
    max_sentences: int = 3
    deep_k: int = 300  # chunks retrieved for Recall@100
    # The first latency_sample questions are encoded one at a time, as `qa ask` does, and give the
    # latency figures; the rest are encoded in batches (10k questions: ~30 s instead of ~2 min).
    latency_sample: int = 100
    limit: int | None = None
    vocabulary: bool = True  # read questions with the corpus's vocabulary (corrections, abbreviations)
    retrieval: RetrievalParams = RetrievalParams()
    answer: AnswerParams = AnswerParams()

    def to_dict(self) -> dict:
        d = asdict(self)
        return d


GoldSpan = tuple[str, int | None, int | None, str]


def resolve_evidence(engine: Engine, q: Query) -> list[GoldSpan]:
    """Gold evidence as spans of the *stored* (NFKC, stripped) document text.

    The suite's offsets refer to its raw text; qa stores NFKC text without leading newlines, so
    the evidence text is located in the stored text, taking the occurrence nearest the given
    offset. Evidence given without an offset is every place its text occurs: medquad's one-sentence
    answers often stand twice in their page, in the "Key Points" list and in the section body (92
    of medquad-cancergov's 729 evidence texts), and quoting either copy quotes the gold answer.
    (Until 2026-12-08 only the first occurrence counted, which judged a quote of the section body
    wrong.) Evidence whose text is not found keeps no offsets and is matched by containment.
    """
    from qa.ingest.corpus import nfkc

    out = []
    for ev in q.evidence:
        doc = engine.document(ev.doc_id) if ev.doc_id else None
        text = nfkc(ev.text)
        if doc is None:
            out.append((ev.doc_id, None, None, text))
            continue
        core = text.strip()
        lead = len(text) - len(text.lstrip())
        hits, i = [], doc.text.find(core)
        while i >= 0 and core:
            hits.append(i)
            i = doc.text.find(core, i + 1)
        if not hits:
            out.append((ev.doc_id, None, None, text))
            continue
        if ev.start is None:
            out.extend((ev.doc_id, h, h + len(core), core) for h in hits)
            continue
        s = min(hits, key=lambda h: abs(h - (ev.start + lead)))
        out.append((ev.doc_id, s, s + len(core), core))
    return out


def _chunk_doc_span(engine: Engine, row: int) -> tuple[str, int, int, str]:
    c = engine.data.chunks[row]
    doc = engine.data.docs[c.doc]
    return doc.doc_id, c.start, c.end, doc.text[c.start:c.end]


def _retrieval_only(engine: Engine, q: Query, qx: str, q_vec, mode: str, settings: EvalSettings,
                    embed_ms: float | None, answerable: bool) -> QuestionResult:
    """A question of a suite that judges documents only: rankings and timings, no answer."""
    vec = None if mode == "bm25" else q_vec
    timings: dict[str, float] = {}
    t = time.perf_counter()
    hits = engine.retrieve(qx, vec, mode, settings.top_k, timings=timings)
    timings["answer"] = 0.0
    if embed_ms is not None:  # total only where the question was encoded alone
        timings["embed"] = 0.0 if mode == "bm25" else embed_ms
        timings["total"] = (time.perf_counter() - t) * 1000 + timings["embed"]
    deep = engine.retrieve(qx, vec, mode, settings.deep_k)
    doc_of = lambda h: engine.data.docs[engine.data.chunks[h.chunk].doc].doc_id  # noqa: E731
    return QuestionResult(
        qid=q.qid, mode=mode, answerable=answerable, raw=None, doc_ranking=M.doc_ranking(map(doc_of, hits)),
        deep_ranking=M.doc_ranking(map(doc_of, deep)), evidence_hits=None, cited_hits=None, first_cited="",
        answer_text="", em=None, f1=None, contains1=None, contains=None, timings=timings)


def run_questions(engine: Engine, suite: Suite, settings: EvalSettings,
                  tick: Callable[[int], None] | None = None) -> dict[str, list[QuestionResult]]:
    modes = settings.modes
    answers = suite.judges_answers
    results: dict[str, list[QuestionResult]] = {m: [] for m in modes}
    need_vec = any(m != "bm25" for m in modes)
    engine.encode("warm up")  # first calls are slow (lazy loading, caches); keep them out of the timings
    for mode in modes:
        engine.ask("warm up question", top_k=settings.top_k, mode=mode)
    expanded = [engine.prepare(q.text).search for q in suite.queries]  # exactly what ask searches
    n_single = min(len(expanded), max(0, settings.latency_sample))
    batched = engine.embedder.embed_queries(expanded[n_single:]) if need_vec and len(expanded) > n_single else None
    for i, q in enumerate(suite.queries):
        qx = expanded[i]
        gold = resolve_evidence(engine, q)
        answerable = suite.answerable(q)
        t = time.perf_counter()
        q_vec = None
        if need_vec:
            q_vec = engine.encode(qx) if i < n_single else batched[i - n_single]
        embed_ms = (time.perf_counter() - t) * 1000 if i < n_single else None
        for mode in modes if not answers else ():
            results[mode].append(_retrieval_only(engine, q, qx, q_vec, mode, settings, embed_ms, answerable))
        for mode in modes if answers else ():
            vec = None if mode == "bm25" else q_vec
            trace: dict = {}
            a = engine.ask(q.text, top_k=settings.top_k, max_sentences=settings.max_sentences, mode=mode, q_vec=vec,
                           trace=trace)
            timings = dict(a.timings_ms)
            if embed_ms is not None:
                timings["embed"] = 0.0 if mode == "bm25" else embed_ms
                timings["total"] = timings.get("total", 0.0) + timings["embed"]
            else:  # batch-encoded: its stages count, but it has no single-question total
                del timings["embed"], timings["total"]
            hits = trace["hits"]  # ask's fused hits, all of them: recall@10 reads past the top_k shown
            deep = engine.retrieve(qx, vec, mode, settings.deep_k)  # ask never looks this deep
            spans = [_chunk_doc_span(engine, h.chunk) for h in hits]
            ev_hits = [M.span_hits(*s, gold) for s in spans[:10]] if gold else None
            # citations are shown in reading order; the *top-scored* one (its score is the raw score)
            # is the answer's first choice, and the one hit@1, EM and F1 judge
            cites = sorted(a.citations, key=lambda c: -c.score)
            cited = [M.span_hits(c.doc_id, c.start, c.end, c.text, gold) for c in cites] if gold else None
            first = cites[0].text if cites else ""
            whole = " ".join(c.text for c in a.citations)
            golds = list(q.answers)
            results[mode].append(QuestionResult(
                qid=q.qid, mode=mode, answerable=answerable, raw=float(a.raw_score),
                doc_ranking=M.doc_ranking(s[0] for s in spans),
                deep_ranking=M.doc_ranking(engine.data.docs[engine.data.chunks[h.chunk].doc].doc_id for h in deep),
                evidence_hits=ev_hits, cited_hits=cited, first_cited=first, answer_text=whole,
                em=M.best_over(M.exact_match, first, golds) if golds else None,
                f1=M.best_over(M.token_f1, first, golds) if golds else None,
                contains1=M.contains_answer(first, golds) if golds else None,
                contains=M.contains_answer(whole, golds) if golds else None,
                timings=timings,
            ))
        if tick:
            tick(1)
    return results


# -- a whole run -----------------------------------------------------------------------------------

def _limited_docs(suite: Suite, n: int):
    """For ``--limit``: the judged and evidence documents of the kept questions plus the first 10*n others."""
    from qa.ingest.corpus import read_corpus

    docs = read_corpus(suite.corpus)
    budget = max(10 * n, 50)
    if len(docs) <= budget:
        return None, ""
    keep = {d for rel in suite.qrels.values() for d in rel} | {e.doc_id for q in suite.queries for e in q.evidence}
    chosen = [d for i, d in enumerate(docs) if d.doc_id in keep or i < budget]
    import hashlib

    note = "limit:" + hashlib.sha256("\n".join(d.doc_id for d in chosen).encode()).hexdigest()[:16]
    return chosen, note


def load_engine(suite: Suite, embedder, settings: EvalSettings, cache_dir=None, on_index=None, questions=None):
    """(engine, index dir, reused?, seconds, corpus doc count) for ``suite``, building its index if needed."""
    from qa.eval.cache import cached_index

    t = time.perf_counter()
    docs, note = (None, "")
    if settings.limit:
        docs, note = _limited_docs(suite, settings.limit)
    index_dir, reused = cached_index(suite.corpus, embedder, name=suite.name, cache_dir=cache_dir, docs=docs,
                                     docs_note=note, progress=on_index, corpus_sha=suite.corpus_sha,
                                     sentence_vectors=suite.judges_answers)
    engine = Engine.load(index_dir, questions or embedder, abstain=False, retrieval=settings.retrieval,
                         vocabulary=settings.vocabulary,
                         answer=settings.answer, mode=settings.default_mode)
    return engine, index_dir, reused, time.perf_counter() - t


def _encoders(engine: Engine) -> dict:
    """Which encoder made the index's vectors and which the questions' (`qa.embed.choice`), and the
    CPU flags the choice read."""
    flags = cpu_flags()
    return {"index": engine.data.manifest.get("vector_id"),
            "questions": f"{engine.embedder.encoder}|{engine.embedder.precision}",
            "cpu_flags": [f for f in SPEED_FLAGS if f in flags]}


def evaluate_suite(suite: Suite, embedder, settings: EvalSettings, calibration: Calibration | None = None,
                   engine: Engine | None = None, cache_dir=None, on_index=None, on_question=None,
                   questions=None) -> tuple[dict, list[dict], Engine]:
    """Run ``suite`` and return (report dict, per-question rows, engine). ``embedder`` builds the
    index, ``questions`` (default: the same) encodes the questions, as `qa ask` would."""
    import datetime as dt
    import sys

    from qa.eval import report as R

    t0 = time.perf_counter()
    if settings.limit:
        suite = suite.limit(settings.limit)
    reused, index_s, index_dir = True, 0.0, None
    if engine is None:
        engine, index_dir, reused, index_s = load_engine(suite, embedder, settings, cache_dir, on_index, questions)
    t1 = time.perf_counter()
    results = run_questions(engine, suite, settings, on_question)
    answer_s = time.perf_counter() - t1
    ranking: dict[str, dict] = {m: {} for m in results}
    cals = {m: calibration_for(engine, m, calibration) for m in results}
    modes = {m: summarize(suite, rows, cals[m], ranking[m]) for m, rows in results.items()}
    manifest = engine.data.manifest
    report = {
        "suite": suite.name,
        "split": suite.split,
        "default_mode": settings.default_mode,
        "modes": modes,
        "n_questions": len(suite.queries),
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["qa", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("qa") else " ".join(sys.argv),
        "git": R.git_state(),
        "index_id": engine.index_id,
        "index_dir": str(index_dir) if index_dir else None,
        "index_reused": reused,
        "model": manifest.get("model"),
        "encoders": _encoders(engine),
        "limit": settings.limit,
        "corpus_docs": len(engine.data.docs),
        "answers_composed": suite.judges_answers,  # False: the suite judges documents only
        "settings": {
            **settings.to_dict(),
            "chunking": manifest.get("chunking"),
            "bm25": manifest.get("bm25"),
            "vector_index": manifest.get("vector_index"),
            "vector_storage": manifest.get("vector_storage", "fp32"),
            "calibration": {m: {"threshold": c.threshold, "a": c.a, "b": c.b, "rule": c.rule, "fitted_on": c.fitted_on}
                            for m, c in cals.items()},
            "answer_model": engine.model.sha256,
        },
        "suite_files": {"path": str(suite.path), "format": suite.format, "sha256": suite.files},
        "suite_warnings": suite.warnings,
        "counts": manifest.get("counts"),
        "versions": manifest.get("versions"),
        "machine": R.machine(),
        "seconds": {"index": round(index_s, 2), "answer": round(answer_s, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }
    return report, per_question_rows(results, cals, ranking, settings.default_mode), engine
