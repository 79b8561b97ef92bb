"""Feedback over HTTP (issue 16 part 4): every answer is recorded, rated with POST /v1/feedback,
and reported at GET /v1/admin/report; a store that fails never fails /v1/ask.

In-process (TestClient runs each reply's background task before returning), with a real SQLite
file in a temp dir and an engine over the bundled corpus built with `FakeEmbedder`.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from conftest import CORPUS, FakeEmbedder
from qa.service.app import create_app
from qa.service.settings import Settings

TOKEN = "an-admin-token-of-some-length"
ANSWERED = "IT methotrexate dose for a 2 year old?"
GAP = "warfarin reversal before hip surgery"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from qa.index.build import build_index
    from qa.query.engine import Engine

    corpus = tmp_path_factory.mktemp("fb-corpus")
    shutil.copytree(CORPUS, corpus, dirs_exist_ok=True)
    out = tmp_path_factory.mktemp("fb-idx") / "idx"
    build_index(corpus, out, FakeEmbedder())
    return Engine.load(out, FakeEmbedder())


def app_client(engine, tmp_path, **kw):
    kw = {"rate_limit_per_minute": 0, "feedback_db": tmp_path / "fb.sqlite3", "admin_token": TOKEN, **kw}
    return TestClient(create_app(Settings(**kw), engine=engine))


@pytest.fixture
def client(engine, tmp_path):
    with app_client(engine, tmp_path) as c:
        yield c


def report(c, since="7d") -> dict:
    r = c.get(f"/v1/admin/report?since={since}", headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_an_answer_is_recorded_and_rated(client):
    a = client.post("/v1/ask", json={"question": ANSWERED}).json()
    assert len(a["answer_id"]) == 32 and not a["abstained"]
    r = client.post("/v1/feedback", json={"answer_id": a["answer_id"], "rating": "down",
                                          "comment": "quotes the oral dose; I asked for intrathecal"})
    assert r.status_code == 201 and r.json() == {"status": "recorded", "answer_id": a["answer_id"]}
    rep = report(client)
    assert (rep["answers"], rep["feedback_down"], rep["feedback_up"]) == (1, 1, 0)
    (bad,) = rep["unhelpful"]
    assert bad["comment"] == "quotes the oral dose; I asked for intrathecal"
    assert [c["doc_id"] for c in bad["citations"]] == [c["doc_id"] for c in a["citations"]]
    assert rep["top_documents"][0]["doc_id"] == a["citations"][0]["doc_id"]
    assert rep["latency_ms"]["count"] == 1


def test_gaps_keep_a_hash_not_the_question_unless_the_site_allows_it(engine, tmp_path):
    for store, expect_text in ((False, None), (True, GAP)):
        with app_client(engine, tmp_path / str(store), store_questions=store) as c:
            (tmp_path / str(store)).mkdir(exist_ok=True)
            a = c.post("/v1/ask", json={"question": GAP}).json()
            assert a["abstained"]
            (gap,) = report(c)["gaps"]
            assert gap["count"] == 1 and gap["question"] == expect_text and len(gap["question_hash"]) == 64
    assert GAP.encode() not in (tmp_path / "False" / "fb.sqlite3").read_bytes()


@pytest.mark.parametrize("body, status", [
    ({"answer_id": "0" * 32, "rating": "up"}, 404),                       # no such answer
    ({"answer_id": "not-an-id", "rating": "up"}, 422),
    ({"answer_id": "0" * 32, "rating": "meh"}, 422),
    ({"answer_id": "0" * 32, "rating": "down", "comment": "x" * 501}, 422),
    ({"answer_id": "0" * 32, "rating": "up", "extra": 1}, 422),
])
def test_bad_feedback_gets_a_clear_error(client, body, status):
    r = client.post("/v1/feedback", json=body)
    assert r.status_code == status and set(r.json()["error"]) >= {"code", "message", "request_id"}
    if status == 404:
        assert r.json()["error"]["code"] == "answer_not_found"


def test_a_full_disk_is_feedback_unavailable_and_answers_go_on(client):
    from qa.feedback import AnswerEvent, StoreUnavailable

    first = client.post("/v1/ask", json={"question": ANSWERED}).json()
    assert client.app.state.feedback.flush()  # recorded before the disk fills
    store = client.app.state.feedback.store()
    store._pragma(f"max_page_count = {store._pragma('page_count')[0][0]}")  # the file may not grow
    recorded = []
    for k in (20, 1, 0):  # fill its free pages, big rows then small ones: the disk is now full
        cites = tuple({"doc_id": f"d{j}" * 50, "section": "s" * 200, "start": 0, "end": 1} for j in range(k))
        with pytest.raises(StoreUnavailable, match="full"):
            for _ in range(10_000):
                store.record_answer(AnswerEvent(f"{len(recorded) + 1:032x}", 1.0, "i", "q", False, 0.5, "m",
                                                False, 1.0, cites))
                recorded.append(f"{len(recorded) + 1:032x}")
    with pytest.raises(StoreUnavailable, match="full"):  # and the feedback table's own pages
        for answer_id in recorded:
            store.record_feedback(answer_id, "down", "x" * 400)
    for q in (ANSWERED, GAP, "daunorubicin dose in induction"):
        r = client.post("/v1/ask", json={"question": q})
        assert r.status_code == 200 and r.json()["answer_id"]
    r = client.post("/v1/feedback", json={"answer_id": first["answer_id"], "rating": "down", "comment": "x" * 400})
    assert r.status_code == 503 and r.json()["error"]["code"] == "feedback_unavailable"
    assert r.json()["error"]["message"] == "feedback unavailable: database or disk is full"
    store._pragma("max_page_count = 1073741823")
    a = client.post("/v1/ask", json={"question": ANSWERED}).json()
    assert client.post("/v1/feedback", json={"answer_id": a["answer_id"], "rating": "up"}).status_code == 201


def test_a_store_that_cannot_be_opened_never_fails_an_answer(engine, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with app_client(engine, tmp_path, feedback_db=blocker / "fb.sqlite3") as c:  # a folder that is a file
        a = c.post("/v1/ask", json={"question": ANSWERED})
        assert a.status_code == 200
        r = c.post("/v1/feedback", json={"answer_id": a.json()["answer_id"], "rating": "up"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "feedback_unavailable"
        assert "retry-after" in r.headers and str(tmp_path) not in r.text


def test_feedback_off_stores_nothing(engine, tmp_path):
    with app_client(engine, tmp_path, feedback=False) as c:
        a = c.post("/v1/ask", json={"question": ANSWERED}).json()
        r = c.post("/v1/feedback", json={"answer_id": a["answer_id"], "rating": "up"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "feedback_disabled"
    assert not (tmp_path / "fb.sqlite3").exists()


def test_the_report_needs_the_admin_token(engine, tmp_path, client):
    assert client.get("/v1/admin/report").status_code == 401
    assert client.get("/v1/admin/report", headers={"authorization": "Bearer wrong"}).status_code == 401
    r = client.get("/v1/admin/report?since=soon", headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_since"
    with app_client(engine, tmp_path / "x", admin_token=None) as c:
        assert c.get("/v1/admin/report").status_code == 404  # no token configured: no admin endpoints


def test_answers_queue_for_one_writer_that_batches_and_loses_nothing(engine, tmp_path):
    """A slow store never holds up an answer: answers queue while a commit runs, and the writer
    takes them in one transaction; feedback and the report wait for the queue; close drains it."""
    import threading

    from qa.service.feedback import FeedbackSink

    sink = FeedbackSink(Settings(rate_limit_per_minute=0, feedback_db=tmp_path / "fb.sqlite3"))
    store = sink.store()
    gate, batches, real = threading.Event(), [], store.record_answers

    def slow(events):
        gate.wait(10)  # the first commit hangs until the test lets it go
        batches.append(len(events))
        real(events)

    store.record_answers = slow
    answers = [engine.ask(q) for q in (ANSWERED, GAP, "daunorubicin dose in induction") * 10]
    for a in answers:
        sink.submit(a, "q")  # returns at once although the store is stuck
    assert sink.pending == 30 and batches == []
    gate.set()
    assert sink.flush(10) and sink.pending == 0
    assert sum(batches) == 30 and len(batches) < 30  # what queued behind the stuck commit went together
    assert sink.report(float("inf")).answers == 30
    gate.clear()
    fresh = engine.ask(ANSWERED)
    with sink._queued:  # both queue before the writer can take either: one batch
        sink.submit(answers[0], "q")  # already recorded: the batch fails, then each alone
        sink.submit(fresh, "q")
    threading.Timer(0.2, gate.set).start()
    sink.close()  # a clean shutdown writes what is still queued
    reopened = FeedbackSink(Settings(rate_limit_per_minute=0, feedback_db=tmp_path / "fb.sqlite3"))
    assert reopened.report(float("inf")).answers == 31 and batches[-3:] == [2, 1, 1]
    reopened.close()
