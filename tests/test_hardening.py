"""Hardening round 2 (issue 14): what an attacker found in the service, each with the test that
failed before its fix. Browser-side findings live in tests/test_browser.py, a hostile corpus in
tests/test_hostile_corpus.py, and fuzzing in tests/test_fuzz.py."""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil

import anyio
import pytest
from fastapi.testclient import TestClient

from conftest import FakeEmbedder
from qa.index.store import IndexCorrupt, load_index, sha256_file
from qa.query.engine import Engine
from qa.query.question import QuestionError, prepare_question
from qa.service.app import create_app
from qa.service.engines import Service
from qa.service.guards import API_CSP, ApiError, BodyLimit
from qa.service.logs import JsonFormatter
from qa.service.ratelimit import RateLimit, client_key
from qa.service.settings import Settings

FULLWIDTH = "ＦＬＴ３－ＩＴＤ ＡＭＬ ｍｉｄｏｓｔａｕｒｉｎ ｄａｙｓ"  # NFKC: "FLT3-ITD AML midostaurin days"


@pytest.fixture
def index(fake_index):  # conftest's, under the short name these tests use
    return fake_index


@pytest.fixture
def engine(fake_engine):
    return fake_engine


def client(engine, **kw) -> TestClient:
    kw.setdefault("rate_limit_per_minute", 0)
    return TestClient(create_app(Settings(**kw), engine=engine))


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert "Traceback" not in r.text
    return body["error"]


# -- 3. a lone surrogate in the question -----------------------------------------------------

@pytest.mark.parametrize("raw", ['{"question": "\\ud800 dose?"}', '{"question": "dose \\udfff"}',
                                 '{"question": "dose?", "filters": {"doc_ids": ["\\ud800"]}}'])
def test_a_lone_surrogate_is_a_422_before_the_answer_slot(engine, raw):
    asked = []
    app = create_app(Settings(rate_limit_per_minute=0), engine=engine)
    real_run = app.state.service.run
    app.state.service.run = lambda fn, *a: asked.append(1) or real_run(fn, *a)
    r = TestClient(app).post("/v1/ask", content=raw, headers={"content-type": "application/json"})
    err = assert_error(r, 422, "invalid_request")
    assert "surrogate" in err["message"] and not asked


def test_the_engine_refuses_a_lone_surrogate_too(engine):
    """The CLI and the eval harness reach the engine without the API's schema."""
    with pytest.raises(QuestionError, match="surrogate"):
        engine.ask("dose " + chr(0xD800))


# -- 9. questions are NFKC-normalised as the corpus is ---------------------------------------

def test_a_fullwidth_question_is_retrieved_as_its_nfkc_form(engine):
    assert prepare_question(FULLWIDTH)[1] == prepare_question("FLT3-ITD AML midostaurin days")[1]
    wide, plain = engine.ask(FULLWIDTH), engine.ask("FLT3-ITD AML midostaurin days")
    assert [c.text for c in wide.citations] == [c.text for c in plain.citations]
    assert wide.raw_score == plain.raw_score and wide.abstained == plain.abstained
    assert wide.question == FULLWIDTH  # the echo is what was typed


# -- 5. rate-limit keys are parsed addresses ---------------------------------------------------

PROXY = [ipaddress.ip_network("10.0.0.0/8")]


def scope(xff: str | None = None, peer: str = "10.0.0.1") -> dict:
    headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
    return {"type": "http", "client": (peer, 1234), "headers": headers, "method": "POST", "path": "/v1/ask"}


def test_one_ipv6_client_written_five_ways_is_one_bucket():
    ways = ["2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]",
            "[2001:db8::1]:443"]
    assert len({client_key(scope(w), PROXY) for w in ways}) == 1


def test_ipv6_clients_are_keyed_by_their_64():
    assert client_key(scope("2001:db8:1:2::1"), PROXY) == client_key(scope("2001:db8:1:2:ffff::9"), PROXY)
    assert client_key(scope("2001:db8:1:2::1"), PROXY) != client_key(scope("2001:db8:1:3::1"), PROXY)


@pytest.mark.parametrize("hop, key", [("203.0.113.7:5555", "203.0.113.7"), ("203.0.113.7", "203.0.113.7"),
                                      ("::ffff:203.0.113.7", "203.0.113.7"),
                                      ("198.51.100.2, 203.0.113.7:80", "203.0.113.7")])
def test_a_hop_with_a_port_or_mapped_form_is_the_client_not_the_proxy(hop, key):
    assert client_key(scope(hop), PROXY) == key


def test_one_client_behind_the_proxy_cannot_spend_another_clients_budget():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limiter = RateLimit(app, per_minute=1, burst=2, proxies=PROXY)

    async def status(xff: str) -> int:
        sent = []

        async def send(m):
            sent.append(m)

        async def receive():
            return {"type": "http.request", "body": b""}

        await limiter(scope(xff), receive, send)
        return sent[0]["status"]

    async def run():
        hog = [await status("203.0.113.7:5555") for _ in range(4)]
        return hog, await status("198.51.100.9")

    hog, other = anyio.run(run)
    assert hog == [200, 200, 429, 429] and other == 200


# -- 6. log records stay one line ------------------------------------------------------------

@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\u0085", "\n", "\r", "\x1e"])
def test_a_line_separator_in_a_logged_field_cannot_split_the_record(sep):
    record = logging.LogRecord("qa.access", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"event": "request", "path": f"/v1/ask{sep}{{\"forged\": true}}", "question": f"a{sep}b"}
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1, line
    assert json.loads(line)["path"] == f"/v1/ask{sep}{{\"forged\": true}}"


# -- 7. CORS origins are matched as browsers write them --------------------------------------

@pytest.mark.parametrize("configured", ["https://Good.Example", "HTTPS://GOOD.EXAMPLE:443/", "https://good.example"])
def test_a_configured_origin_matches_whatever_its_case(engine, configured):
    r = client(engine, cors_origins=configured).get("/v1/healthz", headers={"origin": "https://good.example"})
    assert r.headers.get("access-control-allow-origin") == "https://good.example"


def test_an_unusable_cors_origin_is_refused_at_start_up():
    for bad in ("ftp://good.example", "https://good.example/path", "https://good.example:99999"):
        with pytest.raises(ValueError):
            Settings(cors_origins=bad)


# -- 8. /docs cannot be framed ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect", "/docs-nope", "/docs/../v1/healthz", "/docsx"])
def test_docs_and_anything_like_it_cannot_be_framed(engine, path):
    r = client(engine, docs=True).get(path)
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    if path not in ("/docs", "/docs/oauth2-redirect"):
        assert r.headers["content-security-policy"] == API_CSP


# -- 10. smaller ------------------------------------------------------------------------------

def test_a_reload_error_does_not_leak_a_model_path_with_spaces(index, tmp_path):
    """The manifest names a model folder with spaces that cannot be loaded: the 409's message
    (shown to the admin client) names neither the folder nor any part of it."""
    folder = tmp_path / "idx"
    shutil.copytree(index, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"] = str(tmp_path / "secret models" / "my model")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    svc = Service(Settings(index=folder, rate_limit_per_minute=0), engine=Engine.load(index, FakeEmbedder()))
    with pytest.raises(ApiError) as e:
        svc.reload()
    assert e.value.code == "reload_failed"
    for part in ("secret", "models", "my model", str(tmp_path)):
        assert part not in e.value.message, e.value.message


def test_a_slash_variant_is_a_404_not_a_redirect_built_from_the_host_header(engine):
    r = client(engine).get("/v1/readyz/", headers={"host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers


@pytest.mark.parametrize("name", ["../outside.txt", "bm25/../../outside.txt"])
def test_a_manifest_naming_a_file_outside_its_index_is_refused(index, tmp_path, name):
    folder = tmp_path / "idx"
    shutil.copytree(index, folder)
    outside = tmp_path / "outside.txt"
    outside.write_text("not part of any index\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"bytes": outside.stat().st_size, "sha256": sha256_file(outside)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="outside the index"):
        load_index(folder)


def test_a_manifest_naming_a_link_out_of_its_index_is_refused(index, tmp_path):
    folder = tmp_path / "idx"
    shutil.copytree(index, folder)
    outside = tmp_path / "outside.txt"
    outside.write_text("x\n")
    (folder / "link.txt").symlink_to(outside)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["link.txt"] = {"bytes": outside.stat().st_size, "sha256": sha256_file(outside)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="outside the index"):
        load_index(folder)


@pytest.mark.parametrize("body", ['{"question": ' + "[" * 1000 + "]" * 1000 + "}",
                                  '{"question": "dose?", "top_k": ' + "9" * 5000 + "}"])
def test_json_too_deep_or_a_number_too_long_is_the_documented_422(engine, body):
    r = client(engine).post("/v1/ask", content=body, headers={"content-type": "application/json"})
    assert_error(r, 422, "invalid_request")


def test_a_body_that_is_not_utf8_stays_a_400(engine):
    r = client(engine).post("/v1/ask", content=b'{"question": "\xff"}', headers={"content-type": "application/json"})
    assert_error(r, 400, "bad_request")


def test_content_length_with_transfer_encoding_is_refused():
    reached = []

    async def app(scope, receive, send):
        reached.append(1)

    async def run():
        sent = []

        async def send(m):
            sent.append(m)

        async def receive():
            return {"type": "http.request", "body": b"{}", "more_body": False}

        sc = {"type": "http", "method": "POST", "path": "/v1/ask",
              "headers": [(b"content-length", b"2"), (b"transfer-encoding", b"chunked")]}
        await BodyLimit(app, limit=1000)(sc, receive, send)
        return sent

    sent = anyio.run(run)
    assert sent[0]["status"] == 400 and not reached
    assert b"Transfer-Encoding" in sent[1]["body"]
