"""Stage 4, service: `qa serve`, the HTTP API and the chat widget.

    settings.py  every serving `QA_*` setting, validated (tests check each is documented)
    guards.py    ASGI middleware: request ids and logs, CORS, rate limit, body limit; one error shape
    engines.py   which engine answers: load, use, swap, reload, close (unit-tested without HTTP)
    schemas.py   request and response models (what /docs shows)
    routes.py    the endpoints, with the service as an `Annotated` dependency
    app.py       `create_app`: assembly only
"""
