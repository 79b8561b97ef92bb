"""One error shape for everything the app raises or FastAPI rejects:
``{"error": {"code", "message", "request_id"}}``; 422s add ``details`` (where and what, never the
submitted value)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.service.guards import STATUS_CODES, ApiError, error_response

HTTP_MESSAGES = {400: "the request is malformed (a body that is not UTF-8 JSON, or a bad header)",
                 404: "no such endpoint", 405: "method not allowed for this endpoint"}


async def api_error(request: Request, e: ApiError):
    return error_response(request.scope, e.status, e.code, e.message, e.headers, e.details)


async def validation_error(request: Request, e: RequestValidationError):
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


async def http_error(request: Request, e: StarletteHTTPException):
    cause = e.__cause__
    if e.status_code == 400 and isinstance(cause, (RecursionError, ValueError)) and not isinstance(cause, UnicodeError):
        # FastAPI turns only JSONDecodeError into a 422; JSON nested past the parser's depth or an
        # integer past Python's 4,300-digit limit is invalid JSON for qa too, so it gets the same 422
        return error_response(request.scope, 422, "invalid_request",
                              "the request body is not valid JSON (nested too deep, or a number too long)",
                              details=[{"loc": ["body"], "msg": "JSON too deep or a number too long",
                                        "type": "json_invalid"}])
    code = STATUS_CODES.get(e.status_code, "error")
    message = HTTP_MESSAGES.get(e.status_code, "the request could not be handled")
    return error_response(request.scope, e.status_code, code, message, dict(e.headers or {}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
