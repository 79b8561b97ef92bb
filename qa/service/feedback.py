"""Feedback and the site owner's report over HTTP (issue 16 part 4), on the store of `qa.feedback`.

    POST /v1/feedback          {"answer_id", "rating": "up"|"down", "comment"}: a clinician's verdict on an answer
    GET  /v1/admin/report      what users asked that the corpus could not answer, what they marked
                               unhelpful, the most cited documents, latency (admin token)

Every answer `POST /v1/ask` gives is recorded (`FeedbackSink.record_later`) after its reply has
left, on a thread limiter of its own: a slow or dead store never delays an answer nor takes the
answer threads, and feedback, which a reader sends seconds later, finds the record. The store is a
side channel: one that cannot be opened or written (a full disk, PostgreSQL gone) makes
`/v1/feedback` answer 503 "feedback unavailable" and is logged, and `/v1/ask` answers as before.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qa.service.guards import ApiError, require_admin
from qa.service.schemas import ErrorOut, Text

log = logging.getLogger("qa.api")
RETRY_OPEN_S = 30.0  # a store that failed to open is tried again after this long, not on every answer
WRITERS = 2  # threads writing answer records at once: a store is one file or one connection anyway
MAX_PENDING = 256  # records waiting beyond this are dropped (and logged): a stuck store never grows memory


class FeedbackSink:
    """The service's feedback store, opened on first use; ``enabled=False`` (QA_FEEDBACK=false):
    nothing is recorded and `/v1/feedback` answers 404."""

    def __init__(self, settings):
        self.settings = settings
        self.enabled = bool(settings.feedback)
        self._store = None
        self._failed_at = float("-inf")
        self._lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None  # made in the server's event loop
        self.pending = 0

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

    async def record_later(self, answer, question: str) -> None:
        """`record` in a writer thread, run after the reply has been sent (a background task)."""
        if not self.enabled:
            return
        if self.pending >= MAX_PENDING:
            log.warning("answer not recorded: %d records already wait for the store", self.pending,
                        extra={"fields": {"event": "feedback_unavailable"}})
            return
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(WRITERS)
        self.pending += 1
        try:
            await anyio.to_thread.run_sync(self.record, answer, question, limiter=self._limiter)
        finally:
            self.pending -= 1

    def record(self, answer, question: str) -> None:
        """Store one answer's event; never raises (an answer never fails for its record)."""
        if not self.enabled:
            return
        from qa.feedback import AnswerEvent

        event = AnswerEvent(
            answer_id=answer.answer_id, at=time.time(), index_id=answer.index_id, question=question,
            abstained=answer.abstained, confidence=answer.confidence, mode=answer.mode, degraded=answer.degraded,
            latency_ms=float(answer.timings_ms.get("total", 0.0)),
            citations=tuple({"doc_id": c.doc_id, "section": c.section, "start": c.start, "end": c.end}
                            for c in answer.citations))
        try:
            self.store().record_answer(event)
        except ApiError:
            pass  # logged when the store failed to open
        except Exception as e:  # noqa: BLE001  (StoreUnavailable, or a value the store refuses)
            log.warning("answer not recorded: %s", e, extra={"fields": {"event": "feedback_unavailable"}})

    def close(self) -> None:
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
        out = await anyio.to_thread.run_sync(lambda: sink.store().report(since_s))
    except StoreUnavailable as e:
        raise _unavailable(str(e).removeprefix("feedback unavailable: ")) from None
    return JSONResponse(out.to_dict())
