"""The HTTP service: FastAPI app factory and endpoints, inside the guards of `qa.guards`
(RequestContext, CORS, RateLimit, BodyLimit, outermost first).

    FastAPI          /v1/ask, /v1/documents/{doc_id}, /v1/healthz, /v1/readyz, /v1/admin/reload, /widget.js, /

Every error response has one shape: ``{"error": {"code", "message", "request_id"}}`` (422s add
``details``: where and what, never the submitted value).

`create_app(settings, engine=None)`: with an engine (tests) the app is ready at once; without one
it loads ``settings.index`` in a background thread at start-up and `/v1/readyz` says 503 until done.

Hot reload (`POST /v1/admin/reload` with the admin token, or SIGHUP to `qa serve`): the index at
``settings.index`` (a symlink that `qa index` swaps atomically) is loaded and verified in a worker
thread, warmed up, then swapped in (`qa.engines.EngineSlot`): a request keeps its engine to the
end, so every response's ``index_id`` is the index its hits came from. A failed reload (missing,
corrupt or mismatched index) is reported and the old index keeps serving. The loaded embedder is
reused when the new index names the same model.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.engine import MODE_ALIASES, MODES, QuestionError, RetrievalError  # RetrievalError: neither leg could search
from qa.engines import EngineSlot
from qa.settings import Settings
from qa.types import Citation, Filters, Passage, section_label
from qa.guards import (
    API_VERSION, DEMO_CSP, STATIC, STATUS_CODES, ApiError, BodyLimit, CORS, RateLimit, RequestContext,
    _request_id, error_response, scrub_paths,
)
from qa.guards import JsonFormatter, configure_logging  # noqa: F401  (qa serve and tests import them from here)

log = logging.getLogger("qa.api")


# -- request and response models (the OpenAPI docs show these) --------------------------------

class AskFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_ids: list[str] = Field(default_factory=list, max_length=200, description="Only these document ids.")
    sources: list[str] = Field(default_factory=list, max_length=200, description="Only documents from these sources.")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "FLT3-ITD AML starting 7+3: what do I add, and on which days?"}]})
    question: str = Field(description="The clinical question, as typed.")
    top_k: int = Field(5, ge=1, le=50, description="Passages to return.")
    max_sentences: int = Field(3, ge=1, le=10, description="Most sentences in the answer.")
    filters: AskFilters | None = None
    mode: Literal[MODES + tuple(MODE_ALIASES)] | None = Field(  # type: ignore[valid-type]
        None, description="Retrieval mode (hybrid-rrf = hybrid, as on the command line); the server's default when omitted.")


class AnswerOut(BaseModel):
    """The answer contract; citations and passages are qa.types' own dataclasses, so the schema
    cannot drift from what the engine returns."""

    question: str
    answer: str = Field(description="The cited sentences verbatim, each followed by [n]; empty when abstained.")
    abstained: bool
    confidence: float
    raw_score: float
    citations: list[Citation]
    passages: list[Passage]
    index_id: str
    mode: str
    degraded: bool
    timings_ms: dict[str, float]


class SectionOut(BaseModel):
    start: int
    end: int
    path: list[str]
    label: str


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    source: str
    date: str | None
    url: str | None
    text: str = Field(description="The stored (normalised) text: citation offsets index into it.")
    sections: list[SectionOut]
    pages: list[list[int]]
    index_id: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class ReloadOut(BaseModel):
    status: Literal["reloaded"]
    index_id: str
    previous_index_id: str
    changed: bool = Field(description="The new index differs from the one served before.")
    documents: int
    embedder_reused: bool
    load_s: float


ERRORS = {s: {"model": ErrorOut} for s in (400, 408, 413, 422, 429, 503)}
ADMIN_ERRORS = {s: {"model": ErrorOut} for s in (401, 409, 429, 500, 503)}


# -- the app ---------------------------------------------------------------------------------

def _static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def create_app(settings: Settings | None = None, engine=None,
               on_load_error: Callable[[Exception], None] | None = None) -> FastAPI:
    settings = settings or Settings()
    state: dict[str, Any] = {"load_error": None}
    slots: dict[str, anyio.Semaphore] = {}
    widget_js, demo_html, demo_css = _static("widget.js"), _static("demo.html"), _static("demo.css")
    from qa.calibration import load_calibration

    engine_kw = {"embed_budget_ms": settings.embed_budget_ms or None, "calibration": load_calibration(),
                 "embed_workers": settings.max_concurrency}
    slot = EngineSlot(engine)  # which engine answers; one swapped out by a reload is closed by its last user
    reload_lock = threading.Lock()

    def reload_index(trigger: str = "api", request_id: str = "") -> dict[str, Any]:
        """Load the index at ``settings.index`` and swap it in; ApiError when it cannot be (old one stays)."""
        from qa.embed import EmbedderError, load_embedder
        from qa.engine import Engine
        from qa.store import IndexError_, load_index, read_manifest

        if not reload_lock.acquire(blocking=False):
            raise ApiError(409, "reload_in_progress", "a reload is already running; try again when it has finished")
        try:
            current = slot.current
            if current is None:
                raise ApiError(503, "not_ready", "the index is still loading; reload once it is ready",
                               {"retry-after": "5"})
            old_id = current.index_id
            fields: dict[str, Any] = {"event": "reload", "trigger": trigger, "request_id": request_id,
                                      "previous_index_id": old_id}
            t = time.perf_counter()
            folder = Path(settings.index)
            try:
                folder = folder.resolve()  # one target: `qa index` may swap the link again while we read
                manifest = read_manifest(folder)
                embedder = getattr(current, "embedder", None)
                reused = embedder is not None and getattr(embedder, "name", None) == manifest.get("model")
                if not reused:
                    embedder = load_embedder(str(manifest.get("model")))
                data = load_index(folder, expect_model=embedder.name, expect_dim=embedder.dim)
                new = Engine(data, embedder, **engine_kw)
                new.ask("warm up the model and the retrievers")
            except (IndexError_, EmbedderError) as e:
                message = scrub_paths(str(e), settings.index, folder)
                log.error("reload failed", extra={"fields": dict(fields, status="failed", error=str(e))})
                raise ApiError(409, "reload_failed",
                               f"reload failed; still serving index {old_id}: {message}") from None
            except Exception as e:  # noqa: BLE001  (anything unexpected: logged, never shown)
                log.error("reload failed", exc_info=True,
                          extra={"fields": dict(fields, status="failed", error=repr(e))})
                raise ApiError(500, "reload_failed", f"reload failed with an internal error (logged under this "
                                                     f"request id); still serving index {old_id}") from None
            slot.swap(new)
            out = {"status": "reloaded", "index_id": new.index_id, "previous_index_id": old_id,
                   "changed": new.index_id != old_id, "documents": len(new.data.docs),
                   "embedder_reused": reused, "load_s": round(time.perf_counter() - t, 3)}
            log.info("reloaded", extra={"fields": dict(fields, **out)})
            return out
        finally:
            reload_lock.release()

    def reload_from_signal(trigger: str = "SIGHUP") -> None:
        """For signal handlers and other fire-and-forget callers: reload in a thread, log the outcome."""
        def run():
            try:
                reload_index(trigger)
            except ApiError as e:
                if e.code == "reload_in_progress" or e.code == "not_ready":
                    log.warning("reload skipped: %s", e.message)
                # reload_failed was logged by reload_index
        threading.Thread(target=run, name="qa-reload-index", daemon=True).start()

    def load() -> None:
        from qa.engine import Engine

        t = time.perf_counter()
        try:
            eng = Engine.load(settings.index, **engine_kw)
            eng.ask("warm up the model and the retrievers")  # first forward pass and JIT paths, before ready
            slot.swap(eng)
        except Exception as e:  # noqa: BLE001  (IndexError_, EmbedderError, or anything unexpected)
            state["load_error"] = e
            log.error("could not load the index: %s", e)
            if on_load_error:
                on_load_error(e)
            return
        log.info("ready", extra={"fields": {"event": "ready", "index_id": slot.current.index_id,
                                            "documents": len(slot.current.data.docs),
                                            "load_s": round(time.perf_counter() - t, 2)}})

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if slot.current is None:
            threading.Thread(target=load, name="qa-load-index", daemon=True).start()
        yield

    app = FastAPI(
        title="qa", version=API_VERSION, lifespan=lifespan,
        description="Answers clinical questions with sentences quoted verbatim from indexed sources, each cited.",
        docs_url="/docs" if settings.docs else None, redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.settings = settings
    app.state.engine_kw = engine_kw  # what every engine (first load, reloads) is built with
    app.state.qa = state
    app.state.engines = slot
    app.state.reload_index = reload_index  # (trigger, request_id) -> result dict; raises ApiError
    app.state.reload_in_background = reload_from_signal  # for `qa serve`'s SIGHUP handler

    def ready_engine(eng=None):
        """``eng`` (the request's counted engine) or the current one; 503 while there is none."""
        eng = eng if eng is not None else slot.current
        if eng is None:
            if state["load_error"] is not None:
                raise ApiError(503, "not_ready", "the index could not be loaded; see the server log")
            raise ApiError(503, "not_ready", "the index is still loading; try again shortly", {"retry-after": "5"})
        return eng

    async def in_slot(fn: Callable, *args):
        sem = slots.get("sem")
        if sem is None:
            sem = slots["sem"] = anyio.Semaphore(settings.max_concurrency)
        busy = ApiError(503, "overloaded", "the server is busy; try again in a moment", {"retry-after": "1"})
        if settings.queue_timeout_s <= 0:
            try:
                sem.acquire_nowait()
            except anyio.WouldBlock:
                raise busy from None
        else:
            try:
                with anyio.fail_after(settings.queue_timeout_s):
                    await sem.acquire()
            except TimeoutError:
                raise busy from None
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            sem.release()

    # -- errors: one shape ---------------------------------------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError):
        return error_response(request.scope, e.status, e.code, e.message, e.headers, e.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, e: RequestValidationError):
        details = [{"loc": [str(x) for x in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
                   for err in e.errors()]
        if any(d["type"] == "json_invalid" for d in details):
            message = "the request body is not valid JSON"
        elif details:
            d = details[0]
            where = ".".join(x for x in d["loc"] if x != "body") or "body"
            message = f"{where}: {d['msg']}"
        else:
            message = "the request is not valid"
        return error_response(request.scope, 422, "invalid_request", message, details=details[:10])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        code = STATUS_CODES.get(e.status_code, "error")
        message = {400: "the request is malformed (a body that is not UTF-8 JSON, or a bad header)",
                   404: "no such endpoint", 405: "method not allowed for this endpoint"}.get(
            e.status_code, "the request could not be handled")
        return error_response(request.scope, e.status_code, code, message, dict(e.headers or {}))

    # -- endpoints -----------------------------------------------------------------------

    @app.post("/v1/ask", response_model=AnswerOut, responses=ERRORS, tags=["answers"],
              summary="Answer a question with cited sentences, or abstain")
    async def ask(body: AskRequest, request: Request):
        fields = request.scope.get("qa.log", {})
        fields.update(question_chars=len(body.question), question=body.question)
        if len(body.question) > settings.max_question_chars:
            raise ApiError(422, "question_too_long",
                           f"the question is longer than {settings.max_question_chars} characters; shorten it")
        filters = None
        if body.filters:
            filters = Filters(doc_ids=tuple(body.filters.doc_ids), sources=tuple(body.filters.sources))
        with slot.use() as held:
            eng = ready_engine(held)  # the engine counted for this request, to its end, whatever reloads do
            try:
                answer = await in_slot(lambda: eng.ask(body.question, top_k=body.top_k,
                                                       max_sentences=body.max_sentences, filters=filters,
                                                       mode=body.mode))
            except QuestionError as e:
                raise ApiError(422, "invalid_question", str(e)) from None
            except RetrievalError:
                log.error("retrieval failed", exc_info=True,
                          extra={"fields": {"event": "retrieval_failed", "request_id": _request_id(request.scope)}})
                raise ApiError(503, "retrieval_unavailable", "no retriever could search the index just now; "
                               "try again shortly", {"retry-after": "5"}) from None
        fields.update(index_id=answer.index_id, abstained=answer.abstained, citations=len(answer.citations), confidence=answer.confidence,
                      mode=answer.mode, degraded=answer.degraded, timings_ms=answer.timings_ms)
        return JSONResponse(answer.to_dict())

    @app.get("/v1/documents/{doc_id:path}", response_model=DocumentOut, responses={404: {"model": ErrorOut}},
             tags=["documents"], summary="A stored document: text, sections and metadata, for citation offsets")
    async def document(doc_id: str, request: Request):
        eng = ready_engine()
        request.scope.get("qa.log", {})["index_id"] = eng.index_id
        doc = eng.document(doc_id)
        if doc is None:
            raise ApiError(404, "document_not_found", "no document with this id in the index")
        return JSONResponse({
            "doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "date": doc.date, "url": doc.url,
            "text": doc.text,
            "sections": [{"start": s.start, "end": s.end, "path": list(s.path), "label": section_label(doc.title, s.path)}
                         for s in doc.sections],
            "pages": [list(p) for p in doc.pages], "index_id": eng.index_id,
        })

    @app.get("/v1/healthz", tags=["operations"], summary="The process is up")
    async def healthz():
        return {"status": "ok"}

    @app.get("/v1/readyz", tags=["operations"], summary="The index is loaded and questions can be answered",
             responses={503: {"model": ErrorOut}})
    async def readyz():
        eng = ready_engine()
        return {"status": "ready", "index_id": eng.index_id, "documents": len(eng.data.docs)}

    if settings.admin_token is not None:  # no token configured: the endpoint does not exist (404)
        admin_token = settings.admin_token.get_secret_value().encode()

        @app.post("/v1/admin/reload", response_model=ReloadOut, responses=ADMIN_ERRORS, tags=["operations"],
                  summary="Load the index at the configured path again and swap it in (admin token)")
        async def reload(request: Request):
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if not (scheme.lower() == "bearer"
                    and hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), admin_token)):
                raise ApiError(401, "unauthorized", "this endpoint needs the admin token as 'Authorization: Bearer "
                               "<token>'", {"www-authenticate": "Bearer"})
            out = await anyio.to_thread.run_sync(reload_index, "api", _request_id(request.scope))
            request.scope.get("qa.log", {})["index_id"] = out["index_id"]
            return JSONResponse(out)

    @app.get("/widget.js", include_in_schema=False)
    async def widget():
        return Response(widget_js, media_type="text/javascript; charset=utf-8",
                        headers={"cache-control": "public, max-age=300"})

    @app.get("/demo.css", include_in_schema=False)
    async def css():
        return Response(demo_css, media_type="text/css; charset=utf-8",
                        headers={"cache-control": "public, max-age=300"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return Response(status_code=204, headers={"cache-control": "public, max-age=86400"})

    @app.get("/", include_in_schema=False)
    async def demo():
        return Response(demo_html, media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": DEMO_CSP, "cache-control": "no-cache"})

    # outermost last: RequestContext -> CORS -> RateLimit -> BodyLimit -> routes
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst,
                       proxies=settings.proxy_networks())
    app.add_middleware(CORS, origins=settings.cors_origins, credentials=settings.cors_allow_credentials)
    app.add_middleware(RequestContext, get_index_id=lambda: slot.current.index_id if slot.current else None,
                       log_questions=settings.log_questions)
    return app
