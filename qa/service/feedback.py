"""Feedback and the site owner's report over HTTP (issue 16 part 4), on the store of `qa.feedback`.

    POST /v1/feedback          {"answer_id", "rating": "up"|"down", "comment"}: a clinician's verdict on an answer
    GET  /v1/admin/report      what users asked that the corpus could not answer, what they marked
                               unhelpful, the most cited documents, latency (admin token)

Every answer `POST /v1/ask` gives is queued (`FeedbackSink.submit`, no waiting) and written by one
writer thread, in batches: a slow or dead store never delays an answer nor takes the answer
threads, and feedback on an answer, or the report, first waits for the queue to reach it
(`FeedbackSink.flush`), so it always finds the record. The store is a
side channel: one that cannot be opened or written (a full disk, PostgreSQL gone) makes
`/v1/feedback` answer 503 "feedback unavailable" and is logged, and `/v1/ask` answers as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qa.service.guards import ApiError, require_admin
from qa.service.schemas import ErrorOut, Text

log = logging.getLogger("qa.api")
RETRY_OPEN_S = 30.0  # a store that failed to open is tried again after this long, not on every answer
# One writer thread takes the events of the last GATHER_S and writes them in one transaction: on
# medquad-cancergov with 8 clients (AMD EPYC, 2 cores), a commit per answer on two writer threads
# served 105-108 answers/s, batches 122-132, the store off 121-124 (benchmarks/load.py, 2026-12-04)
BATCH = 256  # most events in one transaction
MAX_PENDING = 1024  # events waiting beyond this are dropped (and logged): a stuck store never grows memory
GATHER_S = 0.05  # a batch waits this long for more events (the record is still written within ~50 ms)
FLUSH_TIMEOUT_S = 10.0


class FeedbackSink:
    """The service's feedback store, opened on first use; ``enabled=False`` (QA_FEEDBACK=false):
    nothing is recorded and `/v1/feedback` answers 404."""

    def __init__(self, settings):
        self.settings = settings
        self.enabled = bool(settings.feedback)
        self._store = None
        self._failed_at = float("-inf")
        self._lock = threading.Lock()
        self._queue: deque = deque()
        self._queued = threading.Condition()
        self._submitted = self._done = 0  # events queued / written or given up on, ever
        self._writer: threading.Thread | None = None
        self._stopping = False
        self._flushing = 0  # callers waiting in flush: the writer then writes at once

    def store(self):
        """The open store; ApiError 503 when it cannot be opened now."""
        with self._lock:
            if self._store is None:
                if time.monotonic() - self._failed_at < RETRY_OPEN_S:
                    raise _unavailable("the feedback store could not be opened; see the server log")
                from qa.feedback import open_store

                try:
                    self._store = open_store(self.settings)
                except Exception as e:  # noqa: BLE001  (a bad path, a server that does not answer, no driver)
                    self._failed_at = time.monotonic()
                    log.error("feedback store unavailable: %s", e, extra={"fields": {"event": "feedback_unavailable"}})
                    raise _unavailable("the feedback store could not be opened; see the server log") from None
            return self._store

    def submit(self, answer, question: str) -> None:
        """Queue one answer's event for the writer thread; never blocks, never raises (an answer
        never waits or fails for its record). Beyond MAX_PENDING queued events the new one is
        dropped and logged: a stuck store never grows memory."""
        if not self.enabled:
            return
        from qa.feedback import AnswerEvent

        event = AnswerEvent(
            answer_id=answer.answer_id, at=time.time(), index_id=answer.index_id, question=question,
            abstained=answer.abstained, confidence=answer.confidence, mode=answer.mode, degraded=answer.degraded,
            latency_ms=float(answer.timings_ms.get("total", 0.0)),
            citations=tuple({"doc_id": c.doc_id, "section": c.section, "start": c.start, "end": c.end}
                            for c in answer.citations))
        with self._queued:
            if len(self._queue) >= MAX_PENDING:
                dropped = True
            else:
                dropped = False
                self._queue.append(event)
                self._submitted += 1
                if self._writer is None or not self._writer.is_alive():
                    self._writer = threading.Thread(target=self._write_loop, name="qa-feedback-writer", daemon=True)
                    self._writer.start()
                # wake the writer only to open a batch or to write a full one: a wake-up per answer
                # cost ~0.5 ms of sequential p50 (9.7 -> 9.2 ms; the writer and the event loop traded the GIL)
                if len(self._queue) in (1, BATCH):
                    self._queued.notify_all()
        if dropped:
            log.warning("answer not recorded: %d records already wait for the store", MAX_PENDING,
                        extra={"fields": {"event": "feedback_unavailable"}})

    @property
    def pending(self) -> int:
        with self._queued:
            return self._submitted - self._done

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until every event queued before this call has been written (or given up on):
        feedback on an answer just served, and the report, read what was asked. False on timeout."""
        with self._queued:
            target = self._submitted
            self._flushing += 1
            self._queued.notify_all()
            try:
                return self._queued.wait_for(lambda: self._done >= target, timeout)
            finally:
                self._flushing -= 1

    def _write_loop(self) -> None:
        """Take whatever queued up while the last batch was written, and write it in one transaction."""
        while True:
            with self._queued:
                self._queued.wait_for(lambda: self._queue or self._stopping)
                # let a batch gather: fewer, larger commits (nobody waits for them but flush)
                self._queued.wait_for(lambda: len(self._queue) >= BATCH or self._stopping or self._flushing, GATHER_S)
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            self._write(batch)
            with self._queued:
                self._done += len(batch)
                self._queued.notify_all()

    def _write(self, batch: list) -> None:
        """One transaction; if it fails, each event alone, so one bad event costs only itself."""
        try:
            self.store().record_answers(batch)
            return
        except ApiError:
            return  # logged when the store failed to open
        except Exception as e:  # noqa: BLE001  (StoreUnavailable, or a value the store refuses)
            if len(batch) == 1:
                log.warning("answer not recorded: %s", e, extra={"fields": {"event": "feedback_unavailable"}})
                return
        for event in batch:
            self._write([event])

    def report(self, since_s: float):
        """The store's report, once every answer served before the call is in it."""
        self.flush()
        return self.store().report(since_s)

    def close(self) -> None:
        """Write what is queued (nothing is lost on a clean shutdown), then close the store."""
        with self._queued:
            self._stopping = True
            self._queued.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join(FLUSH_TIMEOUT_S)
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def _unavailable(message: str) -> ApiError:
    return ApiError(503, "feedback_unavailable", f"feedback unavailable: {message}", {"retry-after": "30"})


def get_sink(request: Request) -> FeedbackSink:
    return request.app.state.feedback


SinkDep = Annotated[FeedbackSink, Depends(get_sink)]
api = APIRouter()
admin = APIRouter()


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"answer_id": "0f8fad5bd9cb469fa16570867728950e", "rating": "down",
                      "comment": "quotes the oral dose, I asked for intrathecal"}]})
    answer_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="The answer's `answer_id` from POST /v1/ask.")
    rating: Literal["up", "down"] = Field(description="up: the answer helped; down: it did not.")
    comment: Text | None = Field(None, max_length=500, description="What was wrong (optional; no patient details).")


class FeedbackOut(BaseModel):
    status: Literal["recorded"]
    answer_id: str


FEEDBACK_ERRORS = {s: {"model": ErrorOut} for s in (400, 404, 408, 413, 422, 429, 503)}


@api.post("/v1/feedback", status_code=201, response_model=FeedbackOut, responses=FEEDBACK_ERRORS, tags=["feedback"],
          summary="Say whether an answer helped, with an optional comment")
async def feedback(body: FeedbackIn, sink: SinkDep):
    if not sink.enabled:
        raise ApiError(404, "feedback_disabled", "this server does not take feedback (QA_FEEDBACK=false)")
    from qa.feedback import StoreUnavailable, UnknownAnswer

    def record():
        sink.flush()  # the answer rated may still wait in the writer's queue
        sink.store().record_feedback(body.answer_id, body.rating, body.comment or None)

    try:
        await anyio.to_thread.run_sync(record)
    except UnknownAnswer:
        raise ApiError(404, "answer_not_found", "no answer with this id (it may be older than the "
                       "store's retention, or from another server)") from None
    except StoreUnavailable as e:
        log.warning("feedback not recorded: %s", e, extra={"fields": {"event": "feedback_unavailable"}})
        raise _unavailable(str(e).removeprefix("feedback unavailable: ")) from None
    return JSONResponse({"status": "recorded", "answer_id": body.answer_id}, status_code=201)


@admin.get("/v1/admin/report", responses={s: {"model": ErrorOut} for s in (401, 422, 503)}, tags=["operations"],
           summary="What users asked that the corpus could not answer, unhelpful answers, top documents (admin token)")
async def report(request: Request, sink: SinkDep,
                 since: Annotated[str, Query(description="How far back: 30m, 24h, 7d or all.")] = "7d"):
    require_admin(request, sink.settings)
    from qa.feedback import StoreUnavailable
    from qa.feedback.report import parse_since

    try:
        since_s = parse_since(since)
    except ValueError as e:
        raise ApiError(422, "invalid_since", str(e)) from None
    try:
        out = await anyio.to_thread.run_sync(sink.report, since_s)
    except StoreUnavailable as e:
        raise _unavailable(str(e).removeprefix("feedback unavailable: ")) from None
    return JSONResponse(out.to_dict())
