"""Training questions from real gold, with qa's own retriever's candidates as hard negatives.

Sources (see docs/data-card.md): covid-qa train, medquad dev without any question whose gold
document is in medquad-cancergov (its test questions must not leak), eval/seeds dev, and
medquad-cancergov dev (calibration only). A candidate sentence is positive when it overlaps the
gold evidence, exactly as the eval harness judges a first citation (`qa.eval.metrics.span_hits`).

Unanswerable questions: the seeds' own, plus answerable questions asked again with every relevant
document excluded (unanswerable by construction). Label noise: another document may still answer
(MedQuAD repeats questions across sites; COVID papers overlap). All qrels-relevant documents are
excluded, and a constructed question is dropped when any candidate still contains a gold short
answer, or when one candidate sentence with its heading path and title holds every content term
of the question ("How to diagnose thalassemia?" without its GARD page still meets MedlinePlus's
"Doctors diagnose thalassemias using blood tests."): such a question is probably still answered.
What remains is mostly truly unanswered; the data card gives the counts that remain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.query.engine import Engine

from qa.query.question import QuestionError
from qa.eval import metrics as M
from qa.eval.runner import resolve_evidence
from qa.eval.suites import Query, Suite
from qa.query.features import QuestionTerms, candidates, sentence_matrix, COSINE_SENTENCE, SENTENCE_FEATURES
from qa.types import Filters, Hit


@dataclass
class Item:
    """One question as the answerer saw it, with labels per candidate."""

    qid: str
    source: str
    split: str  # "fit" or "calibrate"
    answerable: bool
    engine: Engine
    terms: QuestionTerms
    hits: list[Hit]
    cands: list[tuple[int, int]]
    x: np.ndarray  # sentence features
    y: np.ndarray  # 1 where the candidate hits gold evidence


def split_of(qid: str, calibrate_share: float) -> str:
    """A fixed, seed-free split by hash of the question id: reproducible on any machine."""
    h = int(hashlib.sha256(qid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "calibrate" if h < calibrate_share else "fit"


def _item(engine: Engine, q: Query, text: str, vec, mode: str, source: str, split: str, top_k: int,
          exclude: tuple[str, ...] = ()) -> Item | None:
    try:
        prep = engine.prepare(text)  # as ask reads it: the corpus's vocabulary included
        typed, qx = prep.typed, prep.search
    except QuestionError:
        return None
    hits = engine.retrieve(qx, vec, mode, top_k, Filters(exclude_doc_ids=exclude) if exclude else None)
    terms = QuestionTerms.of(typed, prep.terms)
    cands = candidates(engine.data, hits, engine.answer_params.passages)
    if not cands:
        return None
    x = sentence_matrix(engine.features, terms, vec, hits, cands)
    if vec is None:
        x[:, [SENTENCE_FEATURES.index(c) for c in COSINE_SENTENCE]] = 0.0
    gold = resolve_evidence(engine, q) if not exclude else []
    data = engine.data
    y = np.zeros(len(cands), np.float32)
    texts = []
    for i, (row, _) in enumerate(cands):
        sent = data.sentences[row]
        d, s, e = sent.doc, sent.start, sent.end
        texts.append(data.docs[d].text[s:e])
        if gold:
            y[i] = float(M.span_hits(data.docs[d].doc_id, s, e, texts[-1], gold))
    if exclude and q.answers and any(M.contains_answer(t, list(q.answers)) for t in texts):
        return None  # the corpus still answers without its gold documents: an unreliable label
    if exclude and _fully_covered(engine.features, terms, cands):
        return None
    answerable = bool(gold) and not exclude
    return Item(q.qid + ("#without-gold" if exclude else ""), source, split, answerable, engine, terms, hits, cands, x, y)


def _fully_covered(fx, terms: QuestionTerms, cands: list[tuple[int, int]]) -> bool:
    for row, _ in cands:
        u = fx.unit(row)
        if fx.weighted_share(terms.typed, u.with_headings) >= 0.999:
            return True
    return False


def collect(engine: Engine, suite: Suite, source: str, *, lexical: bool, calibrate_share: float,
            construct_share: float, texts: dict[str, str] | None = None, top_k: int = 5,
            only_split: str | None = None, tick=None) -> list[Item]:
    """Items for every question of ``suite`` on ``engine`` (mode bm25 without vectors if ``lexical``).

    ``texts`` replaces question texts (a perturbed copy; qids get a ``~`` suffix). A share
    ``construct_share`` of answerable questions is asked again without their relevant documents.
    """
    mode = "bm25" if lexical else "hybrid-weighted"
    qs = suite.queries
    words = [(texts or {}).get(q.qid, q.text) for q in qs]
    vecs = None if lexical else engine.embedder.embed_queries([engine.prepare(w).search if any(c.isalnum() for c in w)
                                                               else "empty" for w in words])
    out = []
    for i, q in enumerate(qs):
        qid = q.qid + ("~" if texts else "")
        split = only_split or split_of(q.qid, calibrate_share)
        vec = None if vecs is None else vecs[i]
        answerable = suite.answerable(q)
        item = _item(engine, q, words[i], vec, mode, source, split, top_k)
        if item is not None:
            item.qid, item.answerable = qid, answerable and bool(item.answerable)
            out.append(item)
        relevant = tuple(suite.qrels.get(q.qid, {})) + tuple(e.doc_id for e in q.evidence if e.doc_id)
        if answerable and relevant and _chosen(q.qid, construct_share):
            neg = _item(engine, q, words[i], vec, mode, source, split, top_k, exclude=tuple(set(relevant)))
            if neg is not None:
                neg.qid = qid + "#without-gold"
                out.append(neg)
        if tick:
            tick(1)
    return out


def _chosen(qid: str, share: float) -> bool:
    return int(hashlib.sha256((qid + "#u").encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def medquad_training_docs(shared: Path):
    """medquad dev's gold documents, less every document of medquad-cancergov, and the cache note."""
    from qa.ingest.corpus import read_corpus
    from qa.eval.suites import load_suite

    cg = {d.doc_id for d in read_corpus(shared / "medquad-cancergov" / "corpus.jsonl")}
    suite = load_suite(shared / "medquad", "dev", None)
    keep = {d for rel in suite.qrels.values() if not set(rel) & cg for d in rel}
    docs = [d for d in read_corpus(suite.corpus) if d.doc_id in keep]
    note = "gold-docs:" + hashlib.sha256("\n".join(d.doc_id for d in docs).encode()).hexdigest()[:16]
    suite.queries = [q for q in suite.queries if set(suite.qrels.get(q.qid, {})) <= keep]
    suite.qrels = {q.qid: suite.qrels[q.qid] for q in suite.queries}
    return suite, docs, note
