"""The HTTP API in-process: every endpoint, status and error shape, CORS, limits, logs.

Most tests use an engine over the bundled corpus (plus a BEIR-style file with `/` in its ids)
built with `FakeEmbedder`, injected through `create_app(settings, engine=...)`: no model load.
Tests marked `slow` use the real model (the session `engine` fixture).
"""

from __future__ import annotations

import json
import re
import logging
import shutil
import threading

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from conftest import CORPUS, FakeEmbedder
from qa.service.app import create_app
from qa.service.ratelimit import RateLimit
from qa.service.settings import Settings

SLASH_ID = "1_CancerGov_QA/0000001_1"
ERROR_KEYS = {"code", "message", "request_id"}


@pytest.fixture(scope="module")
def fake_engine(tmp_path_factory):
    from qa.index.build import build_index
    from qa.query.engine import Engine

    corpus = tmp_path_factory.mktemp("api-corpus")
    shutil.copytree(CORPUS, corpus, dirs_exist_ok=True)
    (corpus / "extra.jsonl").write_text(json.dumps({
        "_id": SLASH_ID, "title": "Adult Acute Lymphoblastic Leukemia", "url": "https://example.org/all",
        "text": "# Adult ALL\n\n## Overview\n\nAdult acute lymphoblastic leukemia is a cancer of the blood and bone "
                "marrow. It usually gets worse quickly if it is not treated.\n",
    }) + "\n")
    out = tmp_path_factory.mktemp("api-idx") / "idx"
    build_index(corpus, out, FakeEmbedder())
    return Engine.load(out, FakeEmbedder())


def settings(**kw) -> Settings:
    kw.setdefault("rate_limit_per_minute", 0)
    return Settings(**kw)


@pytest.fixture
def client(fake_engine):
    with TestClient(create_app(settings(), engine=fake_engine)) as c:
        yield c


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and ERROR_KEYS <= set(body["error"]), body
    assert body["error"]["request_id"] == r.headers["x-request-id"]
    if code:
        assert body["error"]["code"] == code, body
    assert "Traceback" not in r.text and "/tmp/" not in r.text and "site-packages" not in r.text
    return body["error"]


# -- /v1/ask -----------------------------------------------------------------------------------

def test_ask_returns_the_answer_contract(client, fake_engine):
    r = client.post("/v1/ask", json={"question": "intrathecal methotrexate dose by age", "top_k": 4, "max_sentences": 2})
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) >= {"question", "answer", "abstained", "confidence", "raw_score", "citations", "passages",
                      "index_id", "mode", "degraded", "timings_ms"}
    assert d["index_id"] == fake_engine.index_id and len(d["passages"]) <= 4 and len(d["citations"]) <= 2
    for c in d["citations"]:
        assert fake_engine.document(c["doc_id"]).text[c["start"]:c["end"]] == c["text"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert len(r.headers["x-request-id"]) >= 16


def test_ask_filters_and_mode(client):
    r = client.post("/v1/ask", json={"question": "treatment", "mode": "bm25",
                                     "filters": {"doc_ids": ["infantile-all"]}})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["mode"] == "bm25" and d["passages"] and all(p["doc_id"] == "infantile-all" for p in d["passages"])


@pytest.mark.parametrize("alias,mode", [("hybrid-rrf", "hybrid"), ("rrf", "hybrid"), ("weighted", "hybrid-weighted")])
def test_the_api_accepts_the_mode_aliases_the_cli_does(client, alias, mode):
    """One alias table (qa.query.engine.MODE_ALIASES) for qa ask, qa eval --modes and POST /v1/ask."""
    r = client.post("/v1/ask", json={"question": "treatment", "mode": alias})
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == mode


@pytest.mark.parametrize("body,content_type", [
    (b'{"question": ', "application/json"),                       # malformed JSON
    (b'["a list"]', "application/json"),                            # not an object
    (b'{"question": 5}', "application/json"),                       # wrong type
    (b'{}', "application/json"),                                    # missing field
    (b'{"question": "ALL", "colour": "red"}', "application/json"),  # unknown field
    (b'{"question": "ALL", "top_k": 0}', "application/json"),       # out of range
    (b'{"question": "ALL", "top_k": 500}', "application/json"),
    (b'{"question": "ALL", "top_k": true}', "application/json"),    # a boolean is not an integer (schemathesis)
    (b'{"question": "ALL", "max_sentences": "3"}', "application/json"),
    (b'{"question": "ALL", "top_k": 2.5}', "application/json"),
    (b'{"question": "ALL", "mode": "magic"}', "application/json"),
    (b'{"question": "ALL", "filters": {"doc_ids": "x"}}', "application/json"),
    (b'{"question": "ALL"}', "text/plain"),                         # not JSON at all
])
def test_malformed_or_wrong_fields_are_422(client, body, content_type):
    r = client.post("/v1/ask", content=body, headers={"content-type": content_type})
    err = assert_error(r, 422, "invalid_request")
    assert err["message"] and isinstance(err.get("details", []), list)
    # nothing the client sent comes back: no pydantic "input"/"ctx" echo, no value from the body
    details = json.dumps(err.get("details", []))
    assert '"input"' not in details and '"ctx"' not in details, details
    for value in re.findall(rb'"[^"]*"\s*:\s*("[^"]*"|\d+)', body):
        shown = value.decode().strip('"')
        assert shown in ("question", "ALL") or shown not in details, (shown, details)


@pytest.mark.parametrize("question", ["", "   ", "?!...", "\n\t"])
def test_empty_question_is_422(client, question):
    err = assert_error(client.post("/v1/ask", json={"question": question}), 422, "invalid_question")
    assert "question" in err["message"]


def test_question_length_limit(fake_engine):
    with TestClient(create_app(settings(max_question_chars=50), engine=fake_engine)) as c:
        assert c.post("/v1/ask", json={"question": "a" * 50}).status_code == 200
        assert_error(c.post("/v1/ask", json={"question": "a" * 51}), 422, "question_too_long")


def test_body_over_limit_is_413_by_content_length(fake_engine):
    with TestClient(create_app(settings(max_body_bytes=1024), engine=fake_engine)) as c:
        r = c.post("/v1/ask", json={"question": "x " * 2000})
        assert_error(r, 413, "payload_too_large")


def test_chunked_body_over_limit_is_413(fake_engine):
    """No Content-Length: the guard counts the bytes as they arrive."""
    def chunks():
        yield b'{"question": "'
        for _ in range(100):
            yield b"a" * 100
        yield b'"}'

    with TestClient(create_app(settings(max_body_bytes=1024), engine=fake_engine)) as c:
        r = c.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
        assert_error(r, 413, "payload_too_large")

        def small():
            yield b'{"question": "infant ALL outlook"}'
        r = c.post("/v1/ask", content=small(), headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text


# -- /v1/documents -----------------------------------------------------------------------------

def test_document_by_id_with_offsets(client, fake_engine):
    r = client.get("/v1/documents/infantile-all")
    assert r.status_code == 200, r.text
    d = r.json()
    doc = fake_engine.document("infantile-all")
    assert d["text"] == doc.text and d["title"] == doc.title and d["index_id"] == fake_engine.index_id
    assert {"doc_id", "title", "source", "date", "url", "text", "sections", "pages"} <= set(d)
    assert d["sections"] and all({"start", "end", "path", "label"} <= set(s) for s in d["sections"])


@pytest.mark.parametrize("path", [f"/v1/documents/{SLASH_ID}", "/v1/documents/" + SLASH_ID.replace("/", "%2F")])
def test_document_ids_may_contain_slashes(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.json()["doc_id"] == SLASH_ID and r.json()["url"] == "https://example.org/all"


@pytest.mark.parametrize("doc_id", ["nope", "a/b/c", "..%2F..%2Fetc%2Fpasswd", "infantile-all/"])
def test_unknown_document_is_404(client, doc_id):
    err = assert_error(client.get(f"/v1/documents/{doc_id}"), 404, "document_not_found")
    assert "etc" not in err["message"] and "nope" not in err["message"]


# -- operations, static, docs ------------------------------------------------------------------

def test_healthz_and_readyz(client, fake_engine):
    assert client.get("/v1/healthz").json() == {"status": "ok"}
    r = client.get("/v1/readyz")
    assert r.status_code == 200 and r.json()["index_id"] == fake_engine.index_id


def test_not_ready_until_loaded():
    app = create_app(settings())  # no lifespan run: nothing loads
    c = TestClient(app)
    assert c.get("/v1/healthz").status_code == 200
    r = c.get("/v1/readyz")
    assert_error(r, 503, "not_ready")
    assert r.headers["retry-after"]
    assert_error(c.post("/v1/ask", json={"question": "infant ALL"}), 503, "not_ready")


def test_failed_load_reports_without_paths(tmp_path):
    failures = []
    bad = tmp_path / "secret-place" / "idx"
    with TestClient(create_app(settings(index=bad), on_load_error=failures.append)) as c:
        for _ in range(200):
            if failures:
                break
            threading.Event().wait(0.01)
        assert failures
        err = assert_error(c.get("/v1/readyz"), 503, "not_ready")
        assert "secret-place" not in json.dumps(err) and "loaded" in err["message"]


def test_widget_and_demo_page(client):
    r = client.get("/widget.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    js = r.text
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser",
                   "createContextualFragment", "eval(", "new Function"):
        assert unsafe not in js, unsafe
    assert "attachShadow" in js and "noopener noreferrer" in js
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert 'src="/widget.js"' in r.text
    assert client.get("/demo.css").headers["content-type"].startswith("text/css")


def test_docs_can_be_switched_off(fake_engine):
    with TestClient(create_app(settings(docs=True), engine=fake_engine)) as c:
        assert c.get("/docs").status_code == 200
        spec = c.get("/openapi.json").json()
        assert "/v1/ask" in spec["paths"] and "/v1/documents/{doc_id}" in spec["paths"]
    with TestClient(create_app(settings(docs=False), engine=fake_engine)) as c:
        assert_error(c.get("/docs"), 404)
        assert_error(c.get("/openapi.json"), 404)


def test_unknown_route_and_wrong_method(client):
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    r = client.get("/v1/ask")
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers.get("allow", "")


def test_crash_is_500_json_without_traceback(fake_engine):
    class Broken:
        index_id = fake_engine.index_id

        def ask(self, *a, **kw):
            raise RuntimeError("boom at /srv/secret/index.faiss")

    with TestClient(create_app(settings(), engine=Broken())) as c:
        err = assert_error(c.post("/v1/ask", json={"question": "infant ALL"}), 500, "internal_error")
        assert "secret" not in json.dumps(err) and "boom" not in json.dumps(err)


def test_request_id_passthrough(client):
    assert client.get("/v1/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    rid = client.get("/v1/healthz", headers={"x-request-id": "<script>"}).headers["x-request-id"]
    assert rid != "<script>" and rid.isalnum()


# -- CORS --------------------------------------------------------------------------------------

ALLOWED = "https://intranet.example.org"


@pytest.fixture
def cors_client(fake_engine):
    with TestClient(create_app(settings(cors_origins=[ALLOWED, "http://localhost:3000"]), engine=fake_engine)) as c:
        yield c


def preflight(c, origin, method="POST", headers="content-type"):
    return c.options("/v1/ask", headers={"origin": origin, "access-control-request-method": method,
                                         "access-control-request-headers": headers})


def test_cors_preflight_from_allowed_origin_gets_exactly_it(cors_client):
    r = preflight(cors_client, ALLOWED)
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers
    r = cors_client.post("/v1/ask", json={"question": "infant ALL"}, headers={"origin": ALLOWED})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in r.headers["vary"]


@pytest.mark.parametrize("origin", ["https://evil.example.com", "https://intranet.example.org.evil.com",
                                    "http://intranet.example.org", "null"])
def test_cors_other_origins_get_no_allow_origin(cors_client, origin):
    r = preflight(cors_client, origin)
    assert "access-control-allow-origin" not in r.headers
    assert_error(r, 403, "cors_rejected")
    r = cors_client.post("/v1/ask", json={"question": "infant ALL"}, headers={"origin": origin})
    assert "access-control-allow-origin" not in r.headers


def test_cors_preflight_rejects_other_methods_and_headers(cors_client):
    assert "access-control-allow-origin" not in preflight(cors_client, ALLOWED, method="DELETE").headers
    assert "access-control-allow-origin" not in preflight(cors_client, ALLOWED, headers="authorization").headers


def test_cors_errors_carry_the_origin_so_the_widget_can_read_them(fake_engine):
    s = settings(cors_origins=[ALLOWED], rate_limit_per_minute=60, rate_limit_burst=1)
    with TestClient(create_app(s, engine=fake_engine)) as c:
        c.post("/v1/ask", json={"question": "infant ALL"}, headers={"origin": ALLOWED})
        r = c.post("/v1/ask", json={"question": "infant ALL"}, headers={"origin": ALLOWED})
        assert r.status_code == 429 and r.headers["access-control-allow-origin"] == ALLOWED
        assert "Retry-After" in r.headers["access-control-expose-headers"]


def test_cors_wildcard(fake_engine):
    with TestClient(create_app(settings(cors_origins=["*"]), engine=fake_engine)) as c:
        assert preflight(c, "https://anyone.example").headers["access-control-allow-origin"] == "*"


# -- settings ------------------------------------------------------------------------------------

def test_settings_refuse_wildcard_with_credentials():
    with pytest.raises(ValidationError, match="QA_CORS_ALLOW_CREDENTIALS"):
        Settings(cors_origins=["*"], cors_allow_credentials=True)
    Settings(cors_origins=[ALLOWED], cors_allow_credentials=True)


@pytest.mark.parametrize("value", ['["https://a.org", "https://b.org:8443"]', "https://a.org, https://b.org:8443/"])
def test_settings_cors_origins_json_or_comma_separated(monkeypatch, value):
    monkeypatch.setenv("QA_CORS_ORIGINS", value)
    assert Settings().cors_origins == ["https://a.org", "https://b.org:8443"]


@pytest.mark.parametrize("value", ["intranet.example.org", "https://a.org/path", "[not json"])
def test_settings_reject_bad_origins(monkeypatch, value):
    monkeypatch.setenv("QA_CORS_ORIGINS", value)
    with pytest.raises(ValidationError):
        Settings()


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_INDEX", str(tmp_path))
    monkeypatch.setenv("QA_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("QA_DOCS", "false")
    monkeypatch.setenv("QA_TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.1")
    s = Settings()
    assert s.index == tmp_path and s.max_body_bytes == 2048 and s.docs is False
    assert s.trusted_proxies == ["10.0.0.0/8", "192.168.1.1"]
    monkeypatch.setenv("QA_TRUSTED_PROXIES", "not-an-ip")
    with pytest.raises(ValidationError):
        Settings()


# -- rate limit and concurrency -----------------------------------------------------------------

def test_rate_limit_429_with_retry_after(fake_engine):
    with TestClient(create_app(settings(rate_limit_per_minute=6, rate_limit_burst=2), engine=fake_engine)) as c:
        assert c.post("/v1/ask", json={"question": "infant ALL"}).status_code == 200
        assert c.get("/v1/documents/infantile-all").status_code == 200
        r = c.post("/v1/ask", json={"question": "infant ALL"})
        assert_error(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 10
        assert c.get("/v1/healthz").status_code == 200 and c.get("/widget.js").status_code == 200


def test_token_bucket_refills():
    rl = RateLimit(None, per_minute=60, burst=2, proxies=[])
    assert rl.take("a", now=0) == 0 and rl.take("a", now=0) == 0
    assert rl.take("a", now=0) == pytest.approx(1.0)
    assert rl.take("b", now=0) == 0  # per client
    assert rl.take("a", now=1.0) == 0


def _post_as(app, peer: str, xff: str | None):
    headers = {"x-forwarded-for": xff} if xff else {}
    with TestClient(app, client=(peer, 40000)) as c:
        return c.post("/v1/ask", json={"question": "infant ALL"}, headers=headers)


def test_rate_limit_ignores_x_forwarded_for_from_untrusted_peers(fake_engine):
    app = create_app(settings(rate_limit_per_minute=1, rate_limit_burst=1), engine=fake_engine)
    assert _post_as(app, "203.0.113.5", "198.51.100.1").status_code == 200
    assert _post_as(app, "203.0.113.5", "198.51.100.2").status_code == 429  # same peer, spoofed header


def test_rate_limit_keys_on_forwarded_client_behind_trusted_proxy(fake_engine, caplog):
    app = create_app(settings(rate_limit_per_minute=1, rate_limit_burst=1, trusted_proxies=["10.0.0.0/8"]),
                     engine=fake_engine)
    assert _post_as(app, "10.1.2.3", "198.51.100.1").status_code == 200
    assert _post_as(app, "10.1.2.3", "198.51.100.2").status_code == 200
    assert _post_as(app, "10.1.2.3", "198.51.100.1").status_code == 429
    # a client-supplied hop left of the real one cannot pick a fresh bucket
    assert _post_as(app, "10.1.2.3", "1.2.3.4, 198.51.100.2").status_code == 429
    assert _post_as(app, "10.1.2.3", "198.51.100.3, 10.9.9.9").status_code == 200  # chained trusted proxies


def test_overload_is_503(fake_engine):
    release = threading.Event()
    entered = threading.Event()

    class Slow:
        index_id = fake_engine.index_id

        def ask(self, *a, **kw):
            entered.set()
            release.wait(10)
            return fake_engine.ask(*a, **kw)

    app = create_app(settings(max_concurrency=1, queue_timeout_s=0), engine=Slow())

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            results = {}

            async def first():
                results["first"] = await c.post("/v1/ask", json={"question": "infant ALL"})

            async with anyio.create_task_group() as tg:
                tg.start_soon(first)
                await anyio.to_thread.run_sync(entered.wait, 10)
                results["second"] = await c.post("/v1/ask", json={"question": "infant ALL"})
                release.set()
            return results

    results = anyio.run(main)
    assert results["first"].status_code == 200
    assert_error(results["second"], 503, "overloaded")
    assert results["second"].headers["retry-after"] == "1"


def test_queue_waits_for_a_slot(fake_engine):
    """With a queue timeout, a request waits for the busy slot instead of failing."""
    app = create_app(settings(max_concurrency=1, queue_timeout_s=10), engine=fake_engine)

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            out = []

            async def one(i):
                out.append((await c.post("/v1/ask", json={"question": f"infant ALL {i}"})).status_code)

            async with anyio.create_task_group() as tg:
                for i in range(6):
                    tg.start_soon(one, i)
            return out

    assert anyio.run(main) == [200] * 6


# -- logs --------------------------------------------------------------------------------------

def _access_records(caplog):
    return [r.fields for r in caplog.records if r.name == "qa.access"]


def test_one_structured_log_line_per_request_without_question(client, fake_engine, caplog):
    caplog.set_level(logging.INFO, logger="qa.access")
    r = client.post("/v1/ask", json={"question": "patient John Smith infant ALL outlook"})
    records = _access_records(caplog)
    assert len(records) == 1
    rec = records[0]
    assert rec["request_id"] == r.headers["x-request-id"] and rec["status"] == 200
    assert rec["index_id"] == fake_engine.index_id and rec["path"] == "/v1/ask"
    assert rec["duration_ms"] > 0 and {"embed", "bm25", "total"} <= set(rec["timings_ms"])
    assert "John Smith" not in json.dumps(rec) and "question" not in rec
    from qa.service.logs import JsonFormatter
    line = JsonFormatter().format(caplog.records[-1])
    assert json.loads(line)["request_id"] == rec["request_id"] and "\n" not in line


def test_question_logged_only_when_enabled(fake_engine, caplog):
    caplog.set_level(logging.INFO, logger="qa.access")
    with TestClient(create_app(settings(log_questions=True), engine=fake_engine)) as c:
        c.post("/v1/ask", json={"question": "infant ALL outlook"})
    assert _access_records(caplog)[-1]["question"] == "infant ALL outlook"


def test_errors_are_logged_with_their_status(client, caplog):
    caplog.set_level(logging.INFO, logger="qa.access")
    client.post("/v1/ask", content=b"{", headers={"content-type": "application/json"})
    client.get("/v1/documents/nope")
    assert [r["status"] for r in _access_records(caplog)] == [422, 404]


# -- with the real model -----------------------------------------------------------------------

@pytest.mark.slow
def test_real_engine_answers_over_http(engine):
    with TestClient(create_app(settings(), engine=engine)) as c:
        d = c.post("/v1/ask", json={"question": "FLT3-ITD AML starting 7+3: what do I add, and on which days?"}).json()
        assert not d["abstained"] and any("midostaurin 50 mg orally twice daily" in x["text"] for x in d["citations"])
        for cit in d["citations"]:
            doc = c.get(f"/v1/documents/{cit['doc_id']}").json()
            assert doc["text"][cit["start"]:cit["end"]] == cit["text"]
        d = c.post("/v1/ask", json={"question": "warfarin reversal before surgery"}).json()
        assert d["abstained"] and d["answer"] == "" and d["passages"]


# -- document ids that look like paths (issue 14) ---------------------------------------------------

# ids are data: `.`/`..` segments, `%`, `?`, `#`, `+`, `&`, spaces and non-ASCII must all reach the
# document they name. `a/b/../c` and `a/c` differ, so resolving the dot segments shows in the text.
ODD_IDS = {"a/b/../c": "Dot segment document.", "a/c": "The other document.", "./x": "Dot slash document.",
           "..": "Dot dot document.", "100%": "Percent document.", "q?x=1": "Query document.",
           "h#frag": "Fragment document.", "x+y&z=1": "Plus and ampersand document.",
           "with space": "Space document.", "naïve/ü文": "Non-ASCII document."}


@pytest.fixture(scope="module")
def odd_ids_client(tmp_path_factory):
    from qa.index.build import build_index
    from qa.query.engine import Engine

    corpus = tmp_path_factory.mktemp("odd-ids")
    (corpus / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": f"Title of {i}", "text": t}) + "\n"
                                                 for i, t in ODD_IDS.items()))
    out = tmp_path_factory.mktemp("odd-ids-idx") / "idx"
    build_index(corpus, out, FakeEmbedder())
    with TestClient(create_app(settings(), engine=Engine.load(out, FakeEmbedder()))) as c:
        yield c


@pytest.mark.parametrize("doc_id", list(ODD_IDS))
def test_document_by_query_id_is_the_named_document(odd_ids_client, doc_id):
    r = odd_ids_client.get("/v1/documents", params={"id": doc_id}, follow_redirects=False)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["doc_id"] == doc_id and d["title"] == f"Title of {doc_id}" and d["text"].strip() == ODD_IDS[doc_id]


def test_document_by_query_id_unencoded_dot_segments(odd_ids_client):
    # a raw `/` and `..` in the query are not path segments: nothing resolves them
    r = odd_ids_client.get("/v1/documents?id=a/b/../c", follow_redirects=False)
    assert r.status_code == 200, r.text
    assert r.json()["doc_id"] == "a/b/../c" and r.json()["text"].strip() == ODD_IDS["a/b/../c"]


@pytest.mark.parametrize("query", ["", "?id=", "?doc_id=a/c"])
def test_document_without_an_id_is_422_not_a_redirect(odd_ids_client, query):
    # before ?id= existed, /v1/documents answered a 307 to a Location built from the Host header
    r = odd_ids_client.get("/v1/documents" + query, follow_redirects=False)
    err = assert_error(r, 422, "invalid_request")
    assert "location" not in r.headers and err["details"][0]["loc"] == ["query", "id"]


def test_document_by_query_unknown_id_is_404(odd_ids_client):
    assert_error(odd_ids_client.get("/v1/documents", params={"id": "a/b/c"}), 404, "document_not_found")
    assert_error(odd_ids_client.get("/v1/documents", params={"id": "a/./c"}), 404, "document_not_found")


def test_an_integral_number_is_an_integer_as_json_schema_says(client):
    r = client.post("/v1/ask", json={"question": "ALL", "top_k": 2.0})  # schemathesis sends these too
    assert r.status_code == 200 and len(r.json()["passages"]) <= 2
