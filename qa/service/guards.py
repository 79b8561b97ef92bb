"""The pure-ASGI guards around the FastAPI app, and the one error shape they and the app share.

Layers, outermost first::

    RequestContext   request id, security headers, one JSON log line, 500 as JSON (never a traceback)
    CORS             exact-origin allow list; preflights answered here
    RateLimit        token bucket per client (peer address; X-Forwarded-For only from trusted proxies)
    BodyLimit        413 by Content-Length, or by counting received bytes (chunked bodies); 408 when the
                     body takes longer than ``body_timeout_s`` to arrive (a trickling client)

They are plain ASGI (not Starlette middleware classes) so that a guard can answer before the body
is read and count bytes as they arrive. Every error is ``{"error": {"code", "message",
"request_id"}}``, made by `error_response` / `send_error`.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders

log = logging.getLogger("qa.api")
access_log = logging.getLogger("qa.access")

STATIC = Path(__file__).resolve().parents[1] / "static"
API_VERSION = "1"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
DEMO_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = "frame-ancestors 'none'"
DOCS_PAGES = ("/docs", "/docs/oauth2-redirect")
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 406: "not_acceptable", 408: "request_timeout", 409: "conflict",
                413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_request",
                429: "rate_limited", 500: "internal_error", 503: "unavailable"}


# -- errors ----------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers, self.details = headers or {}, details


def require_admin(request, settings) -> None:
    """401 unless the request carries the admin token as ``Authorization: Bearer <token>``
    (compared in constant time); the admin routes exist only when a token is configured."""
    import hmac

    token = settings.admin_token.get_secret_value().encode()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if not (scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token)):
        raise ApiError(401, "unauthorized", "this endpoint needs the admin token as 'Authorization: Bearer <token>'",
                       {"www-authenticate": "Bearer"})


def _request_id(scope) -> str:
    return scope.get("qa.request_id") or ""


def error_body(code: str, message: str, request_id: str, details: list | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        err["details"] = details
    return {"error": err}


def error_response(scope, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   details: list | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, _request_id(scope), details), status_code=status,
                        headers=headers)


async def send_error(scope, send, status: int, code: str, message: str, headers: dict[str, str] | None = None):
    body = json.dumps(error_body(code, message, _request_id(scope))).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


_PATH_RE = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?(?:/[^\s/'\"`]+)+/?")

QUOTED_PATH_RE = re.compile(r"(['\"])[^'\"\n]*[/\\][^'\"\n]*\1")  # 'a path/with spaces'

def scrub_paths(message: str, *paths: Any) -> str:
    """The message with file system paths replaced: error bodies never show where files live."""
    for p in paths:
        if p:
            message = message.replace(str(p), "<index>")
    message = QUOTED_PATH_RE.sub("<path>", message)  # first: a quoted path may hold spaces
    return _PATH_RE.sub("<path>", message)


# -- ASGI guards -----------------------------------------------------------------------------

class RequestContext:
    """Request id, security headers, a JSON log line per request, and a JSON 500 for crashes."""

    def __init__(self, app, get_index_id: Callable[[], str | None], log_questions: bool = False):
        self.app, self.get_index_id, self.log_questions = app, get_index_id, log_questions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope["qa.request_id"] = rid
        scope["qa.log"] = fields = {}
        path = scope.get("path", "")
        state = {"status": None, "bytes": 0}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                h = MutableHeaders(scope=message)
                h["x-request-id"] = rid
                h.setdefault("x-content-type-options", "nosniff")
                h.setdefault("referrer-policy", "no-referrer")
                h.setdefault("cache-control", "no-store")
                # Swagger UI needs its own scripts, so its two pages get a CSP that only forbids
                # framing; every other path (a 404 under /docs too) gets the strict one
                h.setdefault("content-security-policy", DOCS_CSP if path in DOCS_PAGES else API_CSP)
                h.setdefault("x-frame-options", "DENY")
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"fields": {"event": "error", "request_id": rid, "path": path}})
            if state["status"] is None:
                await send_error(scope, send_wrapper, 500, "internal_error",
                                 "the server failed to answer; the error is logged under this request id")
            else:
                state["status"] = state["status"] or 500
        finally:
            record: dict[str, Any] = {
                "event": "request", "request_id": rid, "method": scope.get("method"), "path": path,
                "status": state["status"], "duration_ms": round((time.perf_counter() - t0) * 1000, 2),
                "bytes_out": state["bytes"], "index_id": self.get_index_id(),
                "client": scope.get("qa.client") or (scope.get("client") or [None])[0],
            }
            record.update(fields)
            if not self.log_questions:
                record.pop("question", None)
            access_log.info("request", extra={"fields": record})


class CORS:
    """Exact-origin CORS: an allowed origin gets itself back, any other origin gets nothing."""

    METHODS = ("GET", "POST")
    HEADERS = ("content-type", "x-request-id")

    def __init__(self, app, origins: list[str], credentials: bool = False):
        self.app, self.credentials = app, credentials
        self.any = "*" in origins
        self.origins = set(origins) - {"*"}

    def _allow(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if origin in self.origins:
            return origin
        if self.any:
            return "*"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = self._allow(origin)
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            method = headers["access-control-request-method"].upper()
            asked = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",")
                     if h.strip()]
            if not allowed or method not in self.METHODS or any(h not in self.HEADERS for h in asked):
                return await send_error(scope, send, 403, "cors_rejected",
                                        "this origin, method or header is not allowed to call the API",
                                        {"vary": "Origin"})
            out = {"access-control-allow-origin": allowed, "access-control-allow-methods": ", ".join(self.METHODS),
                   "access-control-allow-headers": "Content-Type, X-Request-ID", "access-control-max-age": "600",
                   "vary": "Origin"}
            if self.credentials:
                out["access-control-allow-credentials"] = "true"
            raw = [(k.encode(), v.encode()) for k, v in out.items()] + [(b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 204, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                h.add_vary_header("Origin")
                if allowed:
                    h["access-control-allow-origin"] = allowed
                    h["access-control-expose-headers"] = "Retry-After, X-Request-ID"
                    if self.credentials:
                        h["access-control-allow-credentials"] = "true"
            await send(message)

        await self.app(scope, receive, send_wrapper)


class BodyLimit:
    """413 for bodies over `limit` bytes: by Content-Length up front, else by counting what arrives.

    408 when the body has not fully arrived ``timeout_s`` after the app first asks for it: a client
    trickling bytes costs one idle coroutine for a bounded time, never a worker or an answer slot.
    """

    def __init__(self, app, limit: int, timeout_s: float | None = None):
        self.app, self.limit, self.timeout_s = app, limit, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        message = f"the request body is larger than {self.limit} bytes"
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and "transfer-encoding" in headers:
            # RFC 9112 6.3: a request with both is a smuggling attempt or a broken client; a proxy in
            # front may have read the body by one and the server by the other
            return await send_error(scope, send, 400, "bad_request",
                                    "the request has both Content-Length and Transfer-Encoding; send one")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                return await send_error(scope, send, 400, "bad_request", "invalid Content-Length")
            if too_big:
                return await send_error(scope, send, 413, "payload_too_large", message)
        state: dict[str, Any] = {"received": 0, "rejected": False, "started": False, "complete": False,
                                 "deadline": None}

        async def reject(status: int, code: str, text: str):
            state["rejected"] = True
            if not state["started"]:
                state["started"] = True
                await send_error(scope, send, status, code, text)
            return {"type": "http.disconnect"}  # the app stops reading; what it sends is dropped

        async def guarded_receive():
            if state["rejected"]:
                return {"type": "http.disconnect"}
            if self.timeout_s and not state["complete"]:
                if state["deadline"] is None:
                    state["deadline"] = time.monotonic() + self.timeout_s
                try:
                    with anyio.fail_after(max(0.0, state["deadline"] - time.monotonic())):
                        msg = await receive()
                except TimeoutError:
                    return await reject(408, "request_timeout",
                                        f"the request body did not arrive within {self.timeout_s:g} s")
            else:
                msg = await receive()
            if msg["type"] == "http.request":
                if not msg.get("more_body", False):
                    state["complete"] = True
                state["received"] += len(msg.get("body", b""))
                if state["received"] > self.limit:
                    return await reject(413, "payload_too_large", message)
            return msg

        async def guarded_send(msg):
            if state["rejected"]:
                return
            if msg["type"] == "http.response.start":
                state["started"] = True
            await send(msg)

        await self.app(scope, guarded_receive, guarded_send)
