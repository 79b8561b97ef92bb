"""The endpoints. Each takes the `Service` as an `Annotated` dependency (`ServiceDep`), so a route
is a few lines: check, run on the request's own engine, shape the reply.

    POST /v1/ask                 answer with cited sentences, or abstain
    GET  /v1/documents?id=...    a stored document, for citation offsets (also /v1/documents/{doc_id})
    GET  /v1/vocabulary          the abbreviations the index learned from its corpus
    GET  /v1/healthz, /v1/readyz
    POST /v1/admin/reload        only when an admin token is configured (else 404)
    POST /v1/feedback, GET /v1/admin/report: in qa.service.feedback
    GET  /, /widget.js, /demo.css, /favicon.ico
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from functools import cache
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from qa.query.engine import RetrievalError
from qa.query.question import QuestionError
from qa.service.engines import Service
from qa.service.guards import DEMO_CSP, STATIC, ApiError, _request_id, require_admin
from qa.service.schemas import (
    ADMIN_ERRORS, ERRORS, AnswerOut, AskRequest, DocumentOut, ErrorOut, ReloadOut, VocabularyOut,
)
from qa.types import Filters, section_label

log = logging.getLogger("qa.api")


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]
api = APIRouter()
admin = APIRouter()
static = APIRouter(include_in_schema=False)


@api.post("/v1/ask", response_model=AnswerOut, responses=ERRORS, tags=["answers"],
          summary="Answer a question with cited sentences, or abstain")
async def ask(body: AskRequest, request: Request, svc: ServiceDep):
    fields = request.scope.get("qa.log", {})
    fields.update(question_chars=len(body.question), question=body.question)
    limit = svc.settings.max_question_chars
    if len(body.question) > limit:
        raise ApiError(422, "question_too_long", f"the question is longer than {limit} characters; shorten it")
    if any(len(h) > limit for h in body.history):
        raise ApiError(422, "history_too_long", f"a history entry is longer than {limit} characters; send the "
                       "thread's questions, not its answers")
    filters = None
    if body.filters:
        filters = Filters(doc_ids=tuple(body.filters.doc_ids), sources=tuple(body.filters.sources))
    with svc.slot.use() as held:
        eng = svc.ready(held)  # the engine counted for this request, to its end, whatever reloads do
        try:
            answer = await svc.run(lambda: eng.ask(body.question, top_k=body.top_k, max_sentences=body.max_sentences,
                                                   filters=filters, mode=body.mode, history=tuple(body.history)))
        except QuestionError as e:
            raise ApiError(422, "invalid_question", str(e)) from None
        except RetrievalError:
            log.error("retrieval failed", exc_info=True,
                      extra={"fields": {"event": "retrieval_failed", "request_id": _request_id(request.scope)}})
            raise ApiError(503, "retrieval_unavailable", "no retriever could search the index just now; "
                           "try again shortly", {"retry-after": "5"}) from None
    fields.update(index_id=answer.index_id, abstained=answer.abstained, citations=len(answer.citations),
                  confidence=answer.confidence, mode=answer.mode, degraded=answer.degraded,
                  timings_ms=answer.timings_ms)
    # queued for the feedback writer thread (qa.service.feedback): a slow store never delays an answer
    request.app.state.feedback.submit(answer, body.question)
    return JSONResponse(answer.to_dict())


DOC_RESPONSES = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


@api.get("/v1/documents", response_model=DocumentOut, responses=DOC_RESPONSES, tags=["documents"],
         summary="A stored document by id: text, sections and metadata, for citation offsets")
async def document_by_query(request: Request, svc: ServiceDep,
                            doc_id: Annotated[str, Query(alias="id", min_length=1,
                                                         description="The document id, percent-encoded as a whole")]):
    # ids are data, not paths: in the query string `.`/`..` segments, `%`, `?` and `#` survive
    # URL parsing, where a browser would resolve `a/b/../c` in a path to another document
    return _document(doc_id, request, svc)


@api.get("/v1/documents/{doc_id:path}", response_model=DocumentOut, responses={404: {"model": ErrorOut}},
         tags=["documents"], summary="A stored document (id in the path; prefer ?id= for ids with dot segments)")
async def document(doc_id: str, request: Request, svc: ServiceDep):
    return _document(doc_id, request, svc)


@api.get("/v1/vocabulary", response_model=VocabularyOut, responses={503: {"model": ErrorOut}}, tags=["documents"],
         summary="The abbreviations the index learned from its corpus, with where each is defined")
async def vocabulary(svc: ServiceDep):
    eng = svc.ready()
    vocab = eng.data.vocabulary
    return JSONResponse({"index_id": eng.index_id, "words": len(vocab.words),
                         "abbreviations": [asdict(d) for d in vocab.listed()]})


def _document(doc_id: str, request: Request, svc: Service) -> JSONResponse:
    eng = svc.ready()
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


@api.get("/v1/healthz", tags=["operations"], summary="The process is up")
async def healthz():
    return {"status": "ok"}


@api.get("/v1/readyz", tags=["operations"], summary="The index is loaded and questions can be answered",
         responses={503: {"model": ErrorOut}})
async def readyz(svc: ServiceDep):
    eng = svc.ready()
    return {"status": "ready", "index_id": eng.index_id, "documents": len(eng.data.docs)}


@admin.post("/v1/admin/reload", response_model=ReloadOut, responses=ADMIN_ERRORS, tags=["operations"],
            summary="Load the index at the configured path again and swap it in (admin token)")
async def reload(request: Request, svc: ServiceDep):
    require_admin(request, svc.settings)
    out = await anyio.to_thread.run_sync(svc.reload, "api", _request_id(request.scope))
    request.scope.get("qa.log", {})["index_id"] = out["index_id"]
    return JSONResponse(out)


@cache
def _static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@static.get("/widget.js")
async def widget():
    return Response(_static("widget.js"), media_type="text/javascript; charset=utf-8",
                    headers={"cache-control": "public, max-age=300"})


@static.get("/demo.css")
async def css():
    return Response(_static("demo.css"), media_type="text/css; charset=utf-8",
                    headers={"cache-control": "public, max-age=300"})


@static.get("/favicon.ico")
async def favicon():
    return Response(status_code=204, headers={"cache-control": "public, max-age=86400"})


@static.get("/")
async def demo():
    return Response(_static("demo.html"), media_type="text/html; charset=utf-8",
                    headers={"content-security-policy": DEMO_CSP, "cache-control": "no-cache"})
