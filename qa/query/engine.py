"""The query path: encode once, BM25 and FAISS, fuse, score precomputed sentence vectors, cite.

`Engine` is what the CLI, the API and the eval harness share. It is safe to call from many
threads: the index is read-only after loading and the embedder serialises its own forward passes.

Modes: ``hybrid-weighted`` (the default), ``hybrid`` (RRF; alias ``hybrid-rrf``), ``bm25``, ``dense``.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from qa.query import answer as ans
from qa.index.bm25 import tokenize
from qa.query.retrieve import Legs, RetrievalError, RetrievalParams, bm25_leg, fuse_legs, search_legs
from qa.query.answer_model import AnswerModel, load_model
from qa.query.calibration import Calibration
from qa.query.features import FeatureIndex
from qa.query.followup import Resolved, resolve as resolve_followup
from qa.query.question import DEFAULT_MODE, prepare_question, resolve_mode
from qa.query.spelling import Speller, read_question
from qa.embed import Embedder, load_embedder
from qa.index.store import IndexData, load_index
from qa.types import section_label, Answer, Document, Filters, Hit, Passage

log = logging.getLogger("qa.engine")


def _calibration_for(model: AnswerModel, explicit: Calibration | None, manifest: dict) -> tuple[Calibration | None, str]:
    """The hybrid calibration in force and where it came from: the one given (``QA_CALIBRATION``),
    else the index's own (its corpus's qa-calibration.json), else None (the model's own).

    A given file fitted for another answer model is refused: someone named it. The index's own is
    set aside with a warning instead, so that retraining the model (`qa train`) leaves every index
    answering, under the model's own calibration, until the corpus's file is refitted.
    """
    if explicit is not None:
        if explicit.model_sha and explicit.model_sha != model.sha256:
            raise ValueError(f"the calibration file was fitted for answer model {explicit.model_sha[:12]}, "
                             f"not the one in use ({model.sha256[:12]}); refit it with `qa eval --calibrate`")
        return explicit, "QA_CALIBRATION"
    own = Calibration.from_dict(manifest["calibration"]) if manifest.get("calibration") else None
    if own is None:
        return None, "answer model"
    if own.model_sha and own.model_sha != model.sha256:
        log.warning("the index's calibration (its corpus's qa-calibration.json) was fitted for answer model %s, "
                    "not the one in use (%s): using the model's own; refit it with `qa eval --calibrate` and re-index",
                    own.model_sha[:12], model.sha256[:12])
        return None, "answer model (the index's calibration is for another model)"
    return own, "index"


@dataclass(frozen=True)
class Prepared:
    """A question as the engine reads it: ``typed`` (for the term features' denominator), ``search``
    (what the encoder and BM25 read), ``terms`` (the answer's term features: ``search`` plus the long
    forms of the corpus's abbreviations it uses), and the ``corrections`` made to what was typed."""

    typed: str
    search: str
    terms: str
    corrections: tuple[dict[str, str], ...]


class Engine:
    """``model`` defaults to the shipped answer model; ``calibration`` replaces the hybrid variant's
    (a site's own, from `qa eval --calibrate`), and without one the index's own applies when its
    corpus carried a ``qa-calibration.json``; the lexical variant always keeps its own, so a
    degraded answer never uses a threshold fitted on hybrid scores. ``abstain=False`` composes
    every answer (the eval harness decides abstention itself from the raw score)."""

    def __init__(self, data: IndexData, embedder: Embedder, calibration: Calibration | None = None,
                 retrieval: RetrievalParams = RetrievalParams(), answer: ans.AnswerParams = ans.AnswerParams(),
                 mode: str = DEFAULT_MODE, embed_budget_ms: float | None = None,
                 model: AnswerModel | None = None, abstain: bool = True, embed_workers: int = 4,
                 vocabulary: bool = True):
        mode = resolve_mode(mode)
        self.data, self.embedder = data, embedder
        self.model = model if model is not None else load_model()
        self.calibrations = {k: v.calibration for k, v in self.model.variants.items()}
        calibration, self.calibration_source = _calibration_for(self.model, calibration, data.manifest)
        if calibration is not None:
            self.calibrations["hybrid"] = calibration
        self.abstain = abstain
        self.features = FeatureIndex(data)
        self.vocabulary = data.vocabulary if vocabulary else None  # False: questions read as typed (evals)
        self._speller = Speller(data.vocabulary.words) if vocabulary else None
        self.retrieval, self.answer_params, self.mode = retrieval, answer, mode
        if embed_budget_ms is not None and embed_budget_ms <= 0:
            raise ValueError("embed_budget_ms must be > 0")
        if embed_workers < 1:
            raise ValueError("embed_workers must be >= 1")
        self.embed_budget_ms = embed_budget_ms
        # one worker per question the service admits at once (QA_MAX_CONCURRENCY): an admitted
        # question never waits for a worker unless an abandoned encoding still holds one
        self._pool = (ThreadPoolExecutor(max_workers=embed_workers, thread_name_prefix="qa-embed")
                      if embed_budget_ms else None)
        self.doc_rows = {d.doc_id: i for i, d in enumerate(data.docs)}
        self._chunk_doc = np.array([c.doc for c in data.chunks], dtype=np.int64)
        # the allowed chunk rows of a filter, made once: a question with filters needs them twice
        # (early BM25, then retrieve), and a site's widget sends the same few filters again and again
        self._allowed_rows = lru_cache(maxsize=64)(self._allowed_uncached)
        try:
            # a large index searches with bm25s's numba code: compile it now (~5 s), not on the first
            # question; that needs a term the index knows, or search returns before reaching numba
            known = next(iter(self.data.bm25.model.vocab_dict), None)
            if known is not None and self.data.bm25.model.backend == "numba":
                self.data.bm25.search([known], 1)
                self.data.bm25.search([known], 1, np.ones(len(data.chunks), dtype=np.float32))  # filtered
        except Exception:
            pass  # a broken BM25 index shows itself (degraded answers) when asked, not here

    @classmethod
    def load(cls, index_dir: Path, embedder: Embedder | None = None, **kw) -> Engine:
        from qa.index.store import read_manifest

        manifest = read_manifest(Path(index_dir))
        embedder = embedder or load_embedder(manifest["model"], role="question")
        data = load_index(Path(index_dir), expect_model=embedder.name, expect_dim=embedder.dim)
        return cls(data, embedder, **kw)

    @property
    def index_id(self) -> str:
        return self.data.index_id

    def document(self, doc_id: str) -> Document | None:
        row = self.doc_rows.get(doc_id)
        return None if row is None else self.data.docs[row]

    # -- retrieval ---------------------------------------------------------------------------

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        return self._allowed_rows(filters) if filters else None

    def _allowed_uncached(self, filters: Filters) -> np.ndarray:
        docs = {i for i, d in enumerate(self.data.docs)
                if (not filters.doc_ids or d.doc_id in filters.doc_ids)
                and (not filters.sources or d.source in filters.sources)
                and d.doc_id not in filters.exclude_doc_ids}
        rows = np.flatnonzero(np.isin(self._chunk_doc, list(docs)))
        rows.setflags(write=False)  # shared by every question with these filters
        return rows

    def retrieve(self, question: str, q_vec: np.ndarray | None, mode: str, k: int,
                 filters: Filters | None = None, timings: dict | None = None,
                 failures: list[str] | None = None, done: Legs | None = None) -> list[Hit]:
        """Fused hits (`qa.query.retrieve`). A failing leg is left out (named in ``failures``) and the
        other answers alone; if no leg can answer, `RetrievalError`. ``done``: see `early_bm25`."""
        timings = timings if timings is not None else {}
        depth = max(self.retrieval.depth, k)
        legs = search_legs(self.data, question, q_vec, mode, depth, self._allowed(filters), timings, failures, done)
        t = time.perf_counter()
        hits = fuse_legs(legs, mode, self.retrieval, depth)
        timings["fuse"] = (time.perf_counter() - t) * 1000
        return hits

    def close(self) -> None:
        """Stop the embedding worker threads (after a hot reload replaced this engine)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def encode(self, question: str, spent_ms: float = 0.0,
               meanwhile: Callable[[Callable[[], bool]], None] | None = None) -> np.ndarray:
        """The question's vector; raises TimeoutError past ``embed_budget_ms`` less ``spent_ms``
        (what the question's encodings took already: a follow-up encodes twice, within one budget).
        ``meanwhile(done)`` runs on this thread while an encoder thread encodes (the service's
        engines); ``done()`` says whether the vector is ready."""
        if self._pool is None:
            return self.embedder.embed_query(question)
        t0 = time.perf_counter()
        job = self._pool.submit(self.embedder.embed_query, question)
        if meanwhile is not None:
            meanwhile(job.done)
            spent_ms += (time.perf_counter() - t0) * 1000
        try:
            return job.result(timeout=max(self.embed_budget_ms - spent_ms, 0.0) / 1000)
        except TimeoutError:
            job.cancel()  # still queued: never run it (its question has already degraded); running: it finishes
            raise

    def early_bm25(self, question: str, mode: str, k: int, filters: Filters | None, timings: dict,
                   encoded: Callable[[], bool] = lambda: False) -> Legs:
        """The BM25 leg, and the sentence units of its top passages, computed while the question is
        being encoded on another thread (the encoder releases the GIL): the units are the answer
        stage's costliest part when not yet cached, and BM25's top passages are most of the fused
        ones. Exactly what `retrieve` and the answerer would compute later; {} if BM25 fails (then
        `retrieve` tries again and reports it)."""
        if mode == "dense":
            return {}
        t = time.perf_counter()
        try:
            legs = {"bm25": bm25_leg(self.data, question, max(self.retrieval.depth, k), self._allowed(filters))}
        except Exception:  # noqa: BLE001  (retrieve searches again and names the failure)
            return {}
        timings["bm25"] = (time.perf_counter() - t) * 1000
        try:
            for row in legs["bm25"][0][:self.answer_params.passages]:
                c = self.data.chunks[int(row)]
                for s in range(c.sent_lo, c.sent_hi):
                    if encoded():
                        return legs
                    self.features.unit(s)
                    # hand the GIL over now: an encoder thread back from ONNX Runtime would otherwise
                    # wait up to the interpreter's 5 ms switch interval for it
                    time.sleep(0)
        except Exception:  # noqa: BLE001  (only a cache warmed: the answerer meets the same error itself)
            pass
        return legs

    # -- answering ---------------------------------------------------------------------------

    def variant_for(self, has_vector: bool) -> str:
        """'hybrid' when cosine signals exist, else 'lexical' (mode bm25, failed embedder, no sentence vectors)."""
        return "hybrid" if has_vector and self.data.has_sentence_vectors else "lexical"

    def prepare(self, question: str) -> Prepared:
        """`prepare_question`, then the corpus's vocabulary (`qa.query.spelling`): unseen words
        corrected to the corpus's own; the long forms of its abbreviations join the answer's term
        features only (a question's "MRD" then matches a sentence's "minimal residual disease"), not
        what is searched. Measured on covid-qa dev (eval/reports/covid-qa-dev-*vocabulary): appended
        to the embedded and BM25 text they cost nDCG@10 0.758 -> 0.739 (to BM25 alone 0.743); kept
        to the term features, nDCG@10 0.759 and the answer holds the span for 0.562 (as typed 0.547),
        and on the perturbed copy 0.750 and 0.542 (as typed 0.674 and 0.453). Everything that embeds or
        scores a question goes through here, so eval and training see what ask sees."""
        typed, q = prepare_question(question)
        if self.vocabulary is None:
            return Prepared(typed, q, q, ())
        vocab = self.features.vocab
        read = read_question(typed, self.vocabulary, lambda w: all(t in vocab for t in tokenize(w)), self._speller)
        if read.text != typed:
            typed, q = prepare_question(read.text)
        terms = f"{q} ({', '.join(read.expansions)})" if read.expansions else q
        return Prepared(typed, q, terms, tuple({"from": a, "to": b} for a, b in read.corrections))

    def resolve(self, question: str, history) -> Resolved | None:
        """The follow-up completed from its thread (`qa.query.followup`), or None when it stands alone."""
        if not history:
            return None
        vocab = self.features.vocab
        r = resolve_followup(question, history, lambda w: all(t in vocab for t in tokenize(w)))
        return r if r.is_followup else None

    def _vectors(self, mode: str, search: Prepared, prep: Prepared, q_vec, timings: dict,
                 meanwhile: Callable[[Callable[[], bool]], None] | None = None):
        """(vector to search with, vector to score sentences with, degraded). A follow-up searches
        with its completed text and scores with the question as typed: carried subject words find
        the passages, but pull the quote towards the sentence that names the subject, and in
        guideline text the answering sentence rarely repeats it (eval/followups.py: first citation
        right 9 of 21 with the completed text for both, 16 of 21 split)."""
        if q_vec is not None or mode == "bm25":
            return q_vec, q_vec, False
        t0 = time.perf_counter()
        try:  # a failing or slow embedder must not take the service down: BM25 still answers
            s_vec = self.encode(search.search, meanwhile=meanwhile)
            a_vec = s_vec if search is prep else self.encode(prep.search, (time.perf_counter() - t0) * 1000)
        except Exception:
            return None, None, True
        finally:
            timings["embed"] = (time.perf_counter() - t0) * 1000
        return s_vec, a_vec, False

    def ask(self, question: str, top_k: int = 5, max_sentences: int = 3, filters: Filters | None = None,
            mode: str | None = None, q_vec: np.ndarray | None = None, trace: dict | None = None,
            history: tuple[str, ...] | list[str] = ()) -> Answer:
        """``history``: the thread's earlier questions, oldest first; a follow-up ("and the
        midostaurin days?") is searched completed from them (`resolved_question`). ``trace`` (a dict)
        receives what the answer was built from: ``hits`` (fused, best first), ``question`` (as
        retrieved) and ``analysis``; the eval harness reads it instead of retrieving again."""
        mode = resolve_mode(mode) if mode else self.mode
        prep = self.prepare(question)
        resolved = self.resolve(question, history)
        search = self.prepare(resolved.text) if resolved else prep
        t0 = time.perf_counter()
        timings: dict[str, float] = {"embed": 0.0}
        done: Legs = {}
        s_vec, a_vec, degraded = self._vectors(
            mode, search, prep, q_vec, timings,
            meanwhile=lambda encoded: done.update(self.early_bm25(search.search, mode, top_k, filters, timings, encoded)))
        failures: list[str] = []
        hits = self.retrieve(search.search, s_vec, mode, top_k, filters, timings, failures, done)
        degraded = degraded or bool(failures)
        t = time.perf_counter()
        variant = self.variant_for(a_vec is not None)
        cal = self.calibrations[variant]
        an = ans.analyse(self.features, self.model.variants[variant], prep.terms, prep.typed, a_vec, hits,
                         self.answer_params)
        raw = an.raw
        abstained = self.abstain and (raw < cal.threshold or not an.scored)
        chosen = [] if abstained else ans.select(self.data, self.features, an.scored, max_sentences, self.answer_params)
        citations = [ans.citation(self.data, i, s) for i, s in enumerate(chosen, start=1)]
        citations, conflicts = ans.with_conflicts(self.data, citations, ans.rivals(self.data, an.scored, chosen,
                                                                                  self.answer_params))
        timings["answer"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        if trace is not None:
            trace.update(hits=hits, question=search.search, analysis=an)
        return Answer(
            question=str(question), answer=ans.compose(citations), abstained=abstained,
            confidence=cal.confidence(raw), raw_score=round(raw, 4),
            citations=tuple(citations), passages=tuple(self._passage(h) for h in hits[:top_k]),
            index_id=self.index_id, mode=mode, degraded=degraded,
            timings_ms={k: round(v, 3) for k, v in timings.items()}, corrections=prep.corrections,
            answer_id=uuid.uuid4().hex, resolved_question=resolved.text if resolved else None,
            conflicts=tuple(conflicts),
        )

    def _passage(self, h: Hit) -> Passage:
        return passage(self.data, h)


def passage(data: IndexData, h: Hit) -> Passage:
    """The hit's chunk as the contract shows it."""
    c = data.chunks[h.chunk]
    doc = data.docs[c.doc]
    return Passage(doc_id=doc.doc_id, chunk_id=c.chunk_id, title=doc.title, section=section_label(doc.title, c.section),
                   text=doc.text[c.start:c.end], start=c.start, end=c.end, score=round(h.score, 6),
                   bm25_rank=h.bm25_rank, dense_rank=h.dense_rank)
