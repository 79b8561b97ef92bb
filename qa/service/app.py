"""The HTTP service: FastAPI app factory and endpoints, inside the guards of `qa.service.guards`
(RequestContext, CORS, RateLimit, BodyLimit, outermost first).

    FastAPI          /v1/ask, /v1/documents/{doc_id}, /v1/vocabulary, /v1/feedback, /v1/healthz, /v1/readyz,
                     /v1/admin/reload, /v1/admin/report, /widget.js, /

Every error response has one shape: ``{"error": {"code", "message", "request_id"}}`` (422s add
``details``: where and what, never the submitted value).

`create_app(settings, engine=None)`: with an engine (tests) the app is ready at once; without one
it loads ``settings.index`` in a background thread at start-up and `/v1/readyz` says 503 until done.

Hot reload (`POST /v1/admin/reload` with the admin token, or SIGHUP to `qa serve`): the index at
``settings.index`` (a symlink that `qa index` swaps atomically) is loaded and verified in a worker
thread, warmed up, then swapped in (`qa.service.engines.EngineSlot`): a request keeps its engine to the
end, so every response's ``index_id`` is the index its hits came from. A failed reload (missing,
corrupt or mismatched index) is reported and the old index keeps serving. The loaded embedder is
reused when the new index names the same model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from qa.service import errors, feedback, routes
from qa.service.engines import Service
from qa.service.guards import API_VERSION, CORS, BodyLimit, RequestContext
from qa.service.ratelimit import RateLimit
from qa.service.settings import Settings


def create_app(settings: Settings | None = None, engine=None,
               on_load_error: Callable[[Exception], None] | None = None,
               on_ready: Callable[[object], None] | None = None) -> FastAPI:
    settings = settings or Settings()
    service = Service(settings, engine, on_load_error, on_ready)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if service.slot.current is None:
            threading.Thread(target=service.load, name="qa-load-index", daemon=True).start()
        yield
        app.state.feedback.close()

    app = FastAPI(
        title="qa", version=API_VERSION, lifespan=lifespan,
        redirect_slashes=False,  # a redirect would take its host from the Host header: a 404 says it plainly
        description="Answers clinical questions with sentences quoted verbatim from indexed sources, each cited.",
        docs_url="/docs" if settings.docs else None, redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.settings = settings
    app.state.service = service  # what routes.get_service hands every endpoint; `qa serve` reloads through it
    app.state.feedback = feedback.FeedbackSink(settings)  # every answer's record, and the feedback on it
    errors.install(app)
    app.include_router(routes.api)
    app.include_router(feedback.api)
    if settings.admin_token is not None:  # no token configured: the endpoints do not exist (404)
        app.include_router(routes.admin)
        app.include_router(feedback.admin)
    app.include_router(routes.static)
    # outermost last: RequestContext -> CORS -> RateLimit -> BodyLimit -> routes
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst,
                       proxies=settings.proxy_networks(),
                       redis_url=settings.redis_url.get_secret_value() if settings.redis_url else None)
    app.add_middleware(CORS, origins=settings.cors_origins, credentials=settings.cors_allow_credentials)
    app.add_middleware(RequestContext, get_index_id=service.index_id, log_questions=settings.log_questions)
    return app
