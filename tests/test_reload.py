"""Hot reload (issue 5): `POST /v1/admin/reload` and SIGHUP swap the served index atomically.

In-process tests serve `FakeEmbedder` indexes built into one served path (a symlink that
`build_index` swaps atomically, as `qa index` does); one test drives a real `qa serve` with SIGHUP.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import CORPUS, FakeEmbedder
from qa.service.app import create_app
from qa.index.build import build_index
from qa.ingest.chunk import ChunkParams
from qa.query.engine import Engine
from qa.service.settings import Settings
from qa.index.store import load_index

TOKEN = "reload-token-0123456789abcdef"
AUTH = {"authorization": f"Bearer {TOKEN}"}
QUESTIONS = ["intrathecal methotrexate dose by age", "infant ALL outlook", "aleukemic leukemia treatment",
             "KMT2A rearranged infants", "what is the revision note about", "induction chemotherapy days"]


def settings(index: Path, **kw) -> Settings:
    kw.setdefault("rate_limit_per_minute", 0)
    kw.setdefault("admin_token", TOKEN)
    return Settings(index=index, **kw)


def corpora(root: Path) -> tuple[Path, Path]:
    """Two corpora that index differently: B adds a document and is chunked finer (new chunk ids)."""
    a, b = root / "corpus-a", root / "corpus-b"
    shutil.copytree(CORPUS, a)
    shutil.copytree(CORPUS, b)
    (b / "revision-notes.md").write_text(
        "# Revision notes\n\n## Changes\n\nThe revision note says intrathecal methotrexate dosing by age is "
        "unchanged. Infant ALL outlook figures were updated. Induction chemotherapy days are listed per arm.\n")
    return a, b


def build(corpus: Path, out: Path, finer: bool = False, embedder=None) -> dict:
    """Build into the served path; returns what the index holds: id -> {chunk_id: (doc_id, start, end)}."""
    params = ChunkParams(target_words=60, max_words=80) if finer else ChunkParams()
    build_index(corpus, out, embedder or FakeEmbedder(), chunk_params=params)
    data = load_index(out)
    return {"index_id": data.index_id,
            "chunks": {c.chunk_id: (data.docs[c.doc].doc_id, c.start, c.end) for c in data.chunks}}


@pytest.fixture
def served(tmp_path):
    a, b = corpora(tmp_path)
    out = tmp_path / "served" / "index"
    first = build(a, out)
    return {"a": a, "b": b, "out": out, "first": first}


def engine_at(path: Path, embedder=None) -> Engine:
    return Engine.load(path, embedder or FakeEmbedder())


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["request_id"] == r.headers["x-request-id"], err
    assert "Traceback" not in r.text and "/tmp" not in r.text and "site-packages" not in r.text
    return err


def embed_threads() -> int:
    return sum(t.name.startswith("qa-embed") for t in threading.enumerate())


# -- the admin endpoint ------------------------------------------------------------------------

def test_admin_reload_is_absent_without_a_token(served):
    app = create_app(settings(served["out"], admin_token=None), engine=engine_at(served["out"]))
    with TestClient(app) as c:
        assert_error(c.post("/v1/admin/reload", headers=AUTH), 404, "not_found")
        assert "/v1/admin/reload" not in c.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong-token-0123456789abcdef"},
                                     {"authorization": f"Basic {TOKEN}"}, {"authorization": TOKEN},
                                     {"authorization": f"Bearer {TOKEN}x"}, {"authorization": "Bearer "}])
def test_admin_reload_needs_the_token(served, headers):
    app = create_app(settings(served["out"]), engine=engine_at(served["out"]))
    with TestClient(app) as c:
        r = c.post("/v1/admin/reload", headers=headers)
        err = assert_error(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer" and TOKEN not in json.dumps(err)
        assert c.get("/v1/readyz").json()["index_id"] == served["first"]["index_id"]


def test_admin_token_settings(monkeypatch):
    monkeypatch.setenv("QA_ADMIN_TOKEN", "")
    assert Settings().admin_token is None  # empty: admin off, never "the empty token"
    with pytest.raises(ValueError, match="at least 16"):
        Settings(admin_token="short")
    monkeypatch.setenv("QA_ADMIN_TOKEN", TOKEN)
    s = Settings()
    assert s.admin_token.get_secret_value() == TOKEN and TOKEN not in repr(s)


def test_reload_picks_up_a_rebuilt_index_and_reuses_the_embedder(served):
    embedder = FakeEmbedder()
    app = create_app(settings(served["out"]), engine=engine_at(served["out"], embedder))
    with TestClient(app) as c:
        built = build(served["b"], served["out"], finer=True)
        r = c.post("/v1/admin/reload", headers=AUTH)
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["status"] == "reloaded" and d["changed"] and d["embedder_reused"]
        assert d["index_id"] == built["index_id"] and d["previous_index_id"] == served["first"]["index_id"]
        assert app.state.service.slot.current.embedder is embedder  # no second model in memory
        assert c.get("/v1/readyz").json()["index_id"] == built["index_id"]
        a = c.post("/v1/ask", json={"question": "what does the revision note say"}).json()
        assert a["index_id"] == built["index_id"]
        assert any(p["doc_id"] == "revision-notes" for p in a["passages"])
        assert c.get("/v1/documents/revision-notes").json()["index_id"] == built["index_id"]
        # the same index again: still a full, verified load; nothing changed
        r = c.post("/v1/admin/reload", headers=AUTH)
        assert r.status_code == 200 and not r.json()["changed"]


# -- the property: 5 reloads under 20 concurrent clients ---------------------------------------

def test_five_reloads_under_twenty_concurrent_clients(served):
    """0 errors, and every response's passages and citations belong to the index_id it reports."""
    index_chunks = {served["first"]["index_id"]: served["first"]["chunks"]}
    app = create_app(settings(served["out"], max_concurrency=8, queue_timeout_s=30),
                     engine=engine_at(served["out"]))
    threads_before = embed_threads()
    failures: list[str] = []
    seen: dict[str, int] = {}
    reloads: list[dict] = []

    def check(d: dict) -> None:
        chunks = index_chunks.get(d["index_id"])
        if chunks is None:
            failures.append(f"unknown index_id {d['index_id']}")
            return
        for p in d["passages"]:
            if chunks.get(p["chunk_id"]) != (p["doc_id"], p["start"], p["end"]):
                failures.append(f"passage {p['chunk_id']} is not in index {d['index_id']}")
        docs = {doc for doc, _, _ in chunks.values()}
        for cit in d["citations"]:
            if cit["doc_id"] not in docs:
                failures.append(f"citation from {cit['doc_id']} is not in index {d['index_id']}")
        seen[d["index_id"]] = seen.get(d["index_id"], 0) + 1

    async def main():
        done = anyio.Event()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60) as c:

            async def client(n: int):
                i = n
                while not done.is_set():
                    q = QUESTIONS[i % len(QUESTIONS)]
                    i += 1
                    r = await c.post("/v1/ask", json={"question": q, "top_k": 8})
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    else:
                        check(r.json())
                    await anyio.sleep(0)

            async def reloader():
                try:
                    for i in range(5):
                        corpus, finer = (served["b"], True) if i % 2 == 0 else (served["a"], False)
                        await anyio.sleep(0.3)
                        built = await anyio.to_thread.run_sync(build, corpus, served["out"], finer)
                        index_chunks[built["index_id"]] = built["chunks"]
                        r = await c.post("/v1/admin/reload", headers=AUTH)
                        if r.status_code != 200 or r.json()["index_id"] != built["index_id"]:
                            failures.append(f"reload {i}: {r.status_code} {r.text[:300]}")
                        reloads.append(r.json())
                    await anyio.sleep(0.3)
                finally:
                    done.set()

            async with anyio.create_task_group() as tg:
                for n in range(20):
                    tg.start_soon(client, n)
                tg.start_soon(reloader)

    anyio.run(main)
    assert not failures, failures[:10]
    assert len(reloads) == 5 and all(r["changed"] for r in reloads)
    # the two builds really differ: a response labelled with the wrong index would have been caught
    a_id, b_id = reloads[1]["index_id"], reloads[0]["index_id"]
    assert len(set(index_chunks[a_id]) ^ set(index_chunks[b_id])) > len(index_chunks[a_id]) // 2
    assert set(seen) >= {a_id, b_id} and sum(seen.values()) >= 40, seen
    print(f"\n5 reloads under 20 clients: {sum(seen.values())} answers checked across {len(seen)} indexes, 0 errors")
    # engines swapped out were closed once their last request finished: no embedding threads pile up
    live = app.state.service.engine_kw["embed_workers"]  # the one live engine's pool (QA_MAX_CONCURRENCY workers)
    deadline = time.monotonic() + 5
    while embed_threads() > threads_before + live and time.monotonic() < deadline:
        time.sleep(0.05)
    assert embed_threads() <= threads_before + live


def test_a_request_in_flight_keeps_its_engine(served):
    """Hold one request, reload twice: it finishes on its own engine, open and undegraded, which is
    closed only after it ends."""
    from qa.query.engine import Engine

    old = Engine.load(served["out"], FakeEmbedder(), embed_budget_ms=2000)  # with an embedding pool to close
    entered, release = threading.Event(), threading.Event()
    real_ask = old.ask

    def slow_ask(*a, **kw):
        entered.set()
        release.wait(10)
        return real_ask(*a, **kw)

    old.ask = slow_ask
    app = create_app(settings(served["out"]), engine=old)
    new_id = build(served["b"], served["out"], finer=True)["index_id"]

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            out = {}

            async def ask():
                out["slow"] = await c.post("/v1/ask", json={"question": "infant ALL outlook"})

            async with anyio.create_task_group() as tg:
                tg.start_soon(ask)
                await anyio.to_thread.run_sync(entered.wait, 10)
                out["reload"] = await c.post("/v1/admin/reload", headers=AUTH)
                out["reload2"] = await c.post("/v1/admin/reload", headers=AUTH)
                out["fresh"] = await c.post("/v1/ask", json={"question": "infant ALL outlook"})
                out["old_pool_open"] = not old._pool._shutdown
                release.set()
            return out

    out = anyio.run(main)
    assert out["reload"].status_code == 200 and out["reload2"].status_code == 200
    assert out["fresh"].json()["index_id"] == new_id
    assert out["slow"].status_code == 200 and out["slow"].json()["degraded"] is False
    assert out["slow"].json()["index_id"] == served["first"]["index_id"]  # began on the old index, ended there
    assert out["old_pool_open"] and old._pool._shutdown  # open while used, closed by its last user


# -- failed reloads: the old index keeps serving ----------------------------------------------

def _corrupt_one_file(index: Path, name: str) -> None:
    target = index.resolve() / name
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))


@pytest.mark.parametrize("name", ["dense.faiss", "chunks.jsonl", "sentence_vectors.npy"])
def test_reload_of_a_corrupt_index_fails_and_the_old_one_keeps_serving(served, name):
    app = create_app(settings(served["out"]), engine=engine_at(served["out"]))
    old_id = served["first"]["index_id"]
    with TestClient(app) as c:
        build(served["b"], served["out"], finer=True)
        _corrupt_one_file(served["out"], name)
        err = assert_error(c.post("/v1/admin/reload", headers=AUTH), 409, "reload_failed")
        assert f"index corrupt: {name}" in err["message"] and old_id in err["message"]
        assert str(served["out"].parent) not in err["message"]
        assert c.get("/v1/readyz").json()["index_id"] == old_id
        r = c.post("/v1/ask", json={"question": "infant ALL outlook"})
        assert r.status_code == 200 and r.json()["index_id"] == old_id


def test_reload_of_a_missing_or_mismatched_index_fails_clearly(served, tmp_path):
    app = create_app(settings(served["out"]), engine=engine_at(served["out"]))
    old_id = served["first"]["index_id"]
    with TestClient(app) as c:
        target = served["out"].resolve()
        served["out"].unlink()  # the link is gone
        err = assert_error(c.post("/v1/admin/reload", headers=AUTH), 409, "reload_failed")
        assert "no index" in err["message"] and "qa index" in err["message"] and "<index>" in err["message"]
        assert str(tmp_path) not in err["message"]
        served["out"].symlink_to(target.name)

        class OtherModel(FakeEmbedder):
            name = "another-model-64"

        build(served["b"], served["out"], embedder=OtherModel())  # a model this server cannot load
        err = assert_error(c.post("/v1/admin/reload", headers=AUTH), 409, "reload_failed")
        assert "another-model-64" in err["message"] and str(tmp_path) not in err["message"]
        assert c.post("/v1/ask", json={"question": "infant ALL"}).json()["index_id"] == old_id


def test_reload_with_an_unexpected_error_is_500_without_details(served, monkeypatch):
    import qa.index.store

    def boom(*a, **kw):
        raise RuntimeError("boom at /srv/secret/dense.faiss")

    app = create_app(settings(served["out"]), engine=engine_at(served["out"]))
    monkeypatch.setattr(qa.index.store, "load_index", boom)
    with TestClient(app) as c:
        err = assert_error(c.post("/v1/admin/reload", headers=AUTH), 500, "reload_failed")
        assert "boom" not in err["message"] and "secret" not in err["message"]
        assert c.get("/v1/readyz").json()["index_id"] == served["first"]["index_id"]


def test_one_reload_at_a_time(served, monkeypatch):
    import qa.index.store

    entered, release = threading.Event(), threading.Event()
    real = qa.index.store.load_index

    def slow_load(*a, **kw):
        entered.set()
        release.wait(10)
        return real(*a, **kw)

    monkeypatch.setattr(qa.index.store, "load_index", slow_load)
    app = create_app(settings(served["out"]), engine=engine_at(served["out"]))
    with TestClient(app) as c:
        first: dict = {}
        t = threading.Thread(target=lambda: first.update(r=c.post("/v1/admin/reload", headers=AUTH)))
        t.start()
        assert entered.wait(10)
        assert_error(c.post("/v1/admin/reload", headers=AUTH), 409, "reload_in_progress")
        assert c.post("/v1/ask", json={"question": "infant ALL"}).status_code == 200  # serving meanwhile
        release.set()
        t.join(10)
        assert first["r"].status_code == 200


def test_reload_before_the_first_load_is_503(served):
    app = create_app(settings(served["out"]))  # no lifespan: nothing loads
    c = TestClient(app)
    assert_error(c.post("/v1/admin/reload", headers=AUTH), 503, "not_ready")


def test_admin_reload_is_rate_limited(served):
    app = create_app(settings(served["out"], rate_limit_per_minute=1, rate_limit_burst=2),
                     engine=engine_at(served["out"]))
    with TestClient(app) as c:
        codes = [c.post("/v1/admin/reload", headers={"authorization": f"Bearer guess-{i:020d}"}).status_code
                 for i in range(5)]
        assert codes == [401, 401, 429, 429, 429]  # token guessing is throttled like any other client


# -- a real server and SIGHUP -------------------------------------------------------------------

@pytest.mark.slow
def test_sighup_reloads_a_real_server(tmp_path, real_embedder):
    from test_load_smoke import RealServer

    a, b = corpora(tmp_path)
    out = tmp_path / "served" / "index"
    first = build(a, out, embedder=real_embedder)
    with RealServer(out, tmp_path, rate_limit_per_minute=0, max_concurrency=4, queue_timeout_s=30) as s:
        assert httpx.get(s.url + "/v1/readyz").json()["index_id"] == first["index_id"]
        failures: list[str] = []
        ids: set[str] = set()
        stop = threading.Event()

        def client(n: int):
            with httpx.Client(base_url=s.url, timeout=60) as c:
                i = n
                while not stop.is_set():
                    r = c.post("/v1/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                    i += 1
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                    else:
                        ids.add(r.json()["index_id"])

        clients = [threading.Thread(target=client, args=(n,)) for n in range(5)]
        for t in clients:
            t.start()
        try:
            second = build(b, out, finer=True, embedder=real_embedder)
            os.kill(s.proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if httpx.get(s.url + "/v1/readyz").json()["index_id"] == second["index_id"]:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"no reload after SIGHUP:\n{s.log()[-3000:]}")
            time.sleep(1)
            # a corrupt build next: SIGHUP is logged as failed and the server keeps serving the second index
            build(a, out, embedder=real_embedder)
            _corrupt_one_file(out, "dense.faiss")
            os.kill(s.proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + 60
            while '"status": "failed"' not in s.log() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in clients:
                t.join(60)
        assert not failures, failures[:5]
        assert s.proc.poll() is None
        assert ids and ids <= {first["index_id"], second["index_id"]}  # how many of each depends on timing
        assert httpx.get(s.url + "/v1/readyz").json()["index_id"] == second["index_id"]
        log = s.log()
        assert '"trigger": "SIGHUP"' in log and '"status": "reloaded"' in log and '"status": "failed"' in log
        assert "index corrupt: dense.faiss" in log
