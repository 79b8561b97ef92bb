"""The feedback and answer-event store (issue 16): migrations, what is kept of a question, many
writers, a killed writer, a full disk, feedback rules, the report, retention; on a real SQLite file
and, where a server answers on 127.0.0.1:5432, on PostgreSQL with the same schema and report."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from qa.feedback import (SCHEMA_VERSION, AnswerEvent, FeedbackStore, NewerSchema, StoreUnavailable, UnknownAnswer,
                         open_store, parse_since, question_hash)
from qa.feedback import schema
from qa.feedback.schema import Postgres, SQLite, migrate
from qa.service.settings import Settings
from conftest import ROOT

NOW = float(int(time.time()) - 3600)  # recent: open_store applies the 90-day retention
PG_BASE = os.environ.get("QA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def event(answer_id: str, *, at: float = NOW, question: str = "what is the dose?", abstained: bool = False,
          docs: tuple[str, ...] = ("doc-a",), latency: float = 10.0) -> AnswerEvent:
    cites = tuple({"doc_id": d, "section": "Dosing", "start": 10 * n, "end": 10 * n + 5} for n, d in enumerate(docs))
    return AnswerEvent(answer_id=answer_id, at=at, index_id="idx-1", question=question, abstained=abstained,
                       confidence=0.1 if abstained else 0.8, mode="auto", degraded=False, latency_ms=latency,
                       citations=() if abstained else cites)


def sqlite_store(path: Path, **kw) -> FeedbackStore:
    return open_store(Settings(feedback_db=path, database_url=None, **kw))


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "feedback" / "qa.sqlite3"


# -- migrations --------------------------------------------------------------------------------------

def test_a_fresh_file_gets_the_latest_schema_in_wal_mode(db):
    sqlite_store(db).close()
    assert rows(db, "SELECT version FROM schema_version ORDER BY version") == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    tables = {r[0] for r in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "answers", "citations", "feedback"} <= tables


def test_reopening_is_a_no_op_and_keeps_the_rows(db):
    store = sqlite_store(db)
    store.record_answer(event("a1"))
    store.close()
    before = rows(db, "SELECT * FROM schema_version")
    again = sqlite_store(db)
    assert again.migrate() == SCHEMA_VERSION
    again.close()
    assert rows(db, "SELECT * FROM schema_version") == before
    assert rows(db, "SELECT answer_id FROM answers") == [("a1",)]


def test_an_old_store_is_migrated_in_order(db):
    dialect = SQLite(db)
    conn = dialect.connect()
    assert migrate(conn, dialect, upto=1) == 1  # a store as the first release left it: no indexes
    conn.close()
    assert not rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'answers_at'")
    sqlite_store(db).close()
    assert rows(db, "SELECT version FROM schema_version ORDER BY version")[-1] == (SCHEMA_VERSION,)
    assert rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'answers_at'")


def test_workers_starting_at_once_on_a_fresh_file_migrate_it_once(tmp_path, db):
    go = tmp_path / "go"
    code = ("import sys, time; from pathlib import Path; from qa.feedback import FeedbackStore; "
            "from qa.feedback.schema import SQLite\n"
            "while not Path(sys.argv[2]).exists(): time.sleep(0.002)\n"
            "print(FeedbackStore(SQLite(sys.argv[1])).migrate())")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(go)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    time.sleep(0.5)  # all four started and waiting
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [o[0].strip() for o in outs] == [str(SCHEMA_VERSION)] * 4, [o[1][-500:] for o in outs]
    assert rows(db, "SELECT version FROM schema_version ORDER BY version") == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


def test_a_store_made_by_a_newer_qa_is_refused(db):
    sqlite_store(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 0, 'from the future')")
    with pytest.raises(NewerSchema, match="made by a newer qa .schema version 99; this qa knows up to"):
        sqlite_store(db)
    store = FeedbackStore(SQLite(db))
    with pytest.raises(StoreUnavailable, match="newer qa"):  # and nothing is written to it
        store.record_answer(event("a1"))
    assert rows(db, "SELECT COUNT(*) FROM answers") == [(0,)]


# -- what is kept of a question ----------------------------------------------------------------------

@pytest.mark.parametrize("store_questions", [False, True])
def test_the_question_text_is_kept_only_when_the_site_turns_it_on(db, store_questions):
    store = sqlite_store(db, store_questions=store_questions)
    store.record_answer(event("a1", question="  Patient J. Smith: dose of  MIDOSTAURIN? "))
    store.close()
    [(text, digest)] = rows(db, "SELECT question, question_hash FROM answers")
    assert digest == question_hash("patient j. smith: dose of midostaurin?")
    if store_questions:
        assert text == "  Patient J. Smith: dose of  MIDOSTAURIN? "
    else:
        assert text is None
        assert b"Smith" not in db.read_bytes() + db.with_name(db.name + "-wal").read_bytes()


# -- many writers -------------------------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from qa.feedback import AnswerEvent, FeedbackStore
from qa.feedback.schema import SQLite
path, prefix, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = FeedbackStore(SQLite(path))
store.migrate()
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
i = 0
while n < 0 or i < n:
    store.record_answer(AnswerEvent(f"{prefix}{i}", time.time(), "idx", f"q{i}", i % 3 == 0, 0.5, "auto", False,
                                    1.0, tuple({"doc_id": f"d{k}", "section": None, "start": k, "end": k + 1}
                                               for k in range(3))))
    print(f"{prefix}{i}", flush=True)  # printed only once record_answer (its commit) has returned
    i += 1
"""


def _writer(tmp_path: Path, db: Path, prefix: str, n: int, go: Path) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    p = subprocess.Popen([sys.executable, str(script), str(db), prefix, str(n), str(go)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready", p.stderr.read()
    return p


def test_threads_and_processes_writing_at_once_lose_nothing(tmp_path, db):
    store = sqlite_store(db)
    go = tmp_path / "go"
    procs = [_writer(tmp_path, db, f"p{k}-", 200, go) for k in range(2)]
    errors: list[BaseException] = []

    def write(t: int) -> None:
        try:
            for i in range(200):
                store.record_answer(event(f"t{t}-{i}", at=time.time(), docs=("doc-a", "doc-b")))
                if i % 50 == 0:
                    store.record_feedback(f"t{t}-{i}", "down" if t % 2 else "up", f"thread {t}")
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    go.touch()
    for t in threads:
        t.start()
    store.report(parse_since("1h"))  # a report while they write
    for t in threads:
        t.join()
    outs = [p.communicate(timeout=60) for p in procs]
    assert not errors, errors
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    ids = {r[0] for r in rows(db, "SELECT answer_id FROM answers")}
    expected = {f"t{t}-{i}" for t in range(8) for i in range(200)} | {f"p{k}-{i}" for k in range(2) for i in range(200)}
    assert ids == expected
    assert rows(db, "SELECT COUNT(*) FROM citations") == [(8 * 200 * 2 + 2 * 200 * 3,)]
    assert rows(db, "SELECT COUNT(*) FROM feedback") == [(8 * 4,)]
    assert store.report(parse_since("1h")).answers == 2000


def test_a_killed_writer_loses_no_committed_row(tmp_path, db):
    go = tmp_path / "go"
    go.touch()
    p = _writer(tmp_path, db, "k", -1, go)
    printed = [p.stdout.readline().strip() for _ in range(300)]
    os.kill(p.pid, signal.SIGKILL)  # mid-stream: it is writing the next one
    rest = p.stdout.read()  # through the pipe's buffer, which readline filled ahead (communicate skips it)
    p.wait(timeout=10)
    printed += [line for line in rest.split("\n")[:-1] if line]  # a cut last line was never confirmed
    assert p.returncode == -signal.SIGKILL
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    ids = {r[0] for r in rows(db, "SELECT answer_id FROM answers")}
    assert set(printed) <= ids
    assert len(ids) - len(printed) <= 1  # at most the one committed as it was killed, before its print
    orphans = rows(db, "SELECT COUNT(*) FROM citations c LEFT JOIN answers a ON a.answer_id = c.answer_id "
                       "WHERE a.answer_id IS NULL")
    assert orphans == [(0,)] and rows(db, "SELECT COUNT(*) FROM citations") == [(3 * len(ids),)]


# -- failures ------------------------------------------------------------------------------------------

def test_a_full_disk_is_feedback_unavailable_and_recovers(db):
    store = sqlite_store(db)
    store.record_answer(event("before"))
    pages = store._pragma("page_count")[0][0]
    store._pragma(f"max_page_count = {pages}")  # the file may not grow: SQLITE_FULL, as on a full disk
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="^feedback unavailable: database or disk is full$"):
        for i in range(10_000):
            store.record_answer(event(f"full-{i}", docs=tuple(f"doc-{k}" * 20 for k in range(20))))
    assert time.monotonic() - t0 < 5  # it fails, it does not hang the answer path
    with pytest.raises(StoreUnavailable, match="disk is full"):
        store.record_answer(event("still-full", docs=tuple(f"doc-{k}" * 20 for k in range(20))))
    store._pragma("max_page_count = 1073741823")  # space again
    store.record_answer(event("after"))
    store.record_feedback("after", "up", None)
    store.close()
    ids = {r[0] for r in rows(db, "SELECT answer_id FROM answers")}
    assert {"before", "after"} <= ids and "still-full" not in ids
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    # a failed answer left nothing half-written: every answer has all its citations
    assert rows(db, "SELECT COUNT(*) FROM answers a WHERE (SELECT COUNT(*) FROM citations c "
                    "WHERE c.answer_id = a.answer_id) NOT IN (1, 20)") == [(0,)]


def test_a_lock_held_too_long_is_feedback_unavailable_then_works(db, monkeypatch):
    store = sqlite_store(db)
    store.close()
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_S", 0.2)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    with pytest.raises(StoreUnavailable, match="^feedback unavailable: database is locked$"):
        store.record_answer(event("a1"))
    blocker.execute("ROLLBACK")
    blocker.close()
    store.record_answer(event("a1"))
    assert rows(db, "SELECT answer_id FROM answers") == [("a1",)]


def test_threads_waiting_on_a_stuck_store_give_up_after_the_busy_timeout(db, monkeypatch):
    store = sqlite_store(db)
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_S", 0.2)
    release = threading.Event()
    holder = threading.Thread(target=lambda: store._writer.run(lambda conn: release.wait(5)))
    holder.start()  # one call stuck inside the database (a slow disk, a server not answering)
    time.sleep(0.05)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="^feedback unavailable: the store is busy"):
        store.record_answer(event("waiting"))
    assert time.monotonic() - t0 < 1
    release.set()
    holder.join()
    store.record_answer(event("after"))


def test_after_a_failed_connect_calls_fail_at_once_then_try_again(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    dialect = SQLite(tmp_path / "file" / "qa.sqlite3")
    calls = []
    real = dialect.connect
    monkeypatch.setattr(dialect, "connect", lambda: calls.append(1) or real())
    store = FeedbackStore(dialect)
    for _ in range(3):
        with pytest.raises(StoreUnavailable, match="^feedback unavailable: "):
            store.record_answer(event("a1"))
    assert len(calls) == 1  # the server (here a folder) is not asked again at once
    store._writer._down = (0.0, "")  # RECONNECT_AFTER_S has passed
    (tmp_path / "file").unlink()  # the cause is gone
    store.record_answer(event("a1"))
    assert len(calls) == 2


def test_an_unwritable_place_is_feedback_unavailable(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="^feedback unavailable: "):
        sqlite_store(tmp_path / "file" / "qa.sqlite3")


# -- feedback ------------------------------------------------------------------------------------------

def test_feedback_rules(db):
    store = sqlite_store(db)
    store.record_answer(event("a1"))
    with pytest.raises(UnknownAnswer, match="no answer 'nope'"):
        store.record_feedback("nope", "up", None)
    with pytest.raises(ValueError, match="rating must be 'up' or 'down'"):
        store.record_feedback("a1", "meh", None)
    with pytest.raises(ValueError, match="at most 500 characters"):
        store.record_feedback("a1", "down", "x" * 501)
    store.record_feedback("a1", "up", "  ")
    store.record_feedback("a1", "down", "x" * 500)  # the reader changed their mind: the last rating counts
    store.close()
    assert rows(db, "SELECT rating, length(comment) FROM feedback") == [("down", 500)]
    with pytest.raises(ValueError, match="each citation needs"):
        store.record_answer(AnswerEvent("b", NOW, "i", "q", False, 0.5, "auto", False, 1.0, ({"doc_id": "d"},)))


# -- the report ------------------------------------------------------------------------------------------

def write_the_week(store: FeedbackStore) -> None:
    """A week of events with one old one outside the window."""
    store.record_answer(event("g1", at=NOW - 100, question="Dose of X?", abstained=True, latency=5))
    store.record_answer(event("g2", at=NOW - 50, question="dose of x?", abstained=True, latency=6))
    store.record_answer(event("g3", at=NOW - 10, question="other gap", abstained=True, latency=7))
    store.record_answer(event("a4", at=NOW - 20, docs=("doc-1", "doc-2"), latency=100))
    store.record_answer(event("a5", at=NOW - 30, docs=("doc-1",), latency=200))
    store.record_answer(event("old", at=NOW - 10 * 86400, question="ancient", abstained=True, latency=9000))
    store.record_feedback("a4", "down", "wrong drug", at=NOW - 5)
    store.record_feedback("a5", "up", None, at=NOW - 4)


def check_the_week(d: dict) -> None:
    assert (d["answers"], d["answered"], d["abstained"], d["feedback_up"], d["feedback_down"]) == (5, 2, 3, 1, 1)
    assert d["latency_ms"] == {"count": 5, "p50": 7.0, "p95": 180.0, "max": 200.0}
    assert [(g["question_hash"], g["count"], g["last_seen"]) for g in d["gaps"]] == [
        (question_hash("dose of x?"), 2, NOW - 50), (question_hash("other gap"), 1, NOW - 10)]
    [u] = d["unhelpful"]
    assert (u["answer_id"], u["comment"], u["rated_at"], u["asked_at"]) == ("a4", "wrong drug", NOW - 5, NOW - 20)
    assert u["citations"] == [{"doc_id": "doc-1", "section": "Dosing", "start": 0, "end": 5},
                              {"doc_id": "doc-2", "section": "Dosing", "start": 10, "end": 15}]
    assert d["top_documents"] == [{"doc_id": "doc-1", "citations": 2, "answers": 2, "unhelpful": 1},
                                  {"doc_id": "doc-2", "citations": 1, "answers": 1, "unhelpful": 1}]


def test_the_report_shows_gaps_unhelpful_answers_documents_and_latency(db):
    store = sqlite_store(db)
    write_the_week(store)
    d = store.report(parse_since("7d"), now=NOW).to_dict()
    json.dumps(d)  # JSON-ready
    check_the_week(d)
    assert d["since"] == NOW - 7 * 86400 and d["until"] == NOW
    assert all(g["question"] is None for g in d["gaps"]) and d["unhelpful"][0]["question"] is None
    everything = store.report(parse_since("all"), now=NOW)
    assert everything.since is None and everything.answers == 6 and everything.latency_ms["max"] == 9000
    assert len(store.report(parse_since("all"), now=NOW, limit=1).gaps) == 1
    assert store.report(parse_since("15s"), now=NOW).answers == 1  # g3 only (at NOW - 10)


def test_the_report_shows_the_question_where_it_is_stored(db):
    store = sqlite_store(db, store_questions=True)
    write_the_week(store)
    gaps = store.report(parse_since("7d"), now=NOW).gaps
    assert gaps[0].question in ("Dose of X?", "dose of x?") and gaps[1].question == "other gap"


@pytest.mark.parametrize("bad", ["7", "d", "-1d", "0h", "7 days", "1y", ""])
def test_a_bad_window_is_refused(bad):
    with pytest.raises(ValueError, match="is not a window"):
        parse_since(bad)


# -- retention ------------------------------------------------------------------------------------------

def test_prune_removes_old_events_and_caps_the_rows(db):
    store = FeedbackStore(SQLite(db), retention_days=30, max_rows=10)
    now = time.time()
    store.record_answer(event("old", at=now - 31 * 86400, docs=("d1", "d2")))
    store.record_feedback("old", "down", "stale")
    for i in range(15):
        store.record_answer(event(f"n{i:02}", at=now - 1000 + i))
    assert store.prune() == 1 + 5
    ids = sorted(r[0] for r in rows(db, "SELECT answer_id FROM answers"))
    assert ids == [f"n{i:02}" for i in range(5, 15)]  # the newest ten
    assert rows(db, "SELECT COUNT(*) FROM citations WHERE answer_id IN ('old', 'n00')") == [(0,)]
    assert rows(db, "SELECT COUNT(*) FROM feedback") == [(0,)]
    assert store.prune() == 0


def test_settings_bound_retention():
    assert Settings.model_fields["feedback_db"].default == Path("feedback/qa.sqlite3")  # (conftest sets QA_FEEDBACK_DB)
    for bad in ({"feedback_retention_days": 0}, {"feedback_max_rows": 999}):
        with pytest.raises(ValidationError):
            Settings(**bad)


# -- PostgreSQL -------------------------------------------------------------------------------------------

def test_a_database_url_must_be_postgresql_and_is_never_echoed():
    with pytest.raises(ValidationError) as e:
        Settings(database_url="mysql://qa:hunter2secret@db/qa")
    assert "postgresql://" in str(e.value) and "hunter2secret" not in str(e.value)
    assert Settings(database_url="").database_url is None
    s = Settings(database_url="postgres://qa:hunter2secret@db/qa")
    assert "hunter2secret" not in repr(s) and "hunter2secret" not in s.model_dump_json()


def test_postgres_without_psycopg_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(StoreUnavailable, match=r"pip install -e '\.\[postgres\]'"):
        open_store(Settings(database_url="postgresql://postgres@127.0.0.1:5432/test"))


def test_sqlite_never_imports_psycopg(tmp_path):
    code = ("import sys; from qa.feedback import open_store; from qa.service.settings import Settings; "
            f"open_store(Settings(feedback_db={str(tmp_path / 'f.db')!r})).close(); print('psycopg' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env={k: v for k, v in os.environ.items() if k != "QA_DATABASE_URL"})
    assert r.stdout.strip() == "False", r.stderr


def test_a_server_that_does_not_answer_is_feedback_unavailable():
    pytest.importorskip("psycopg")
    url = "postgresql://qa:hunter2secret@127.0.0.1:1/test"  # nothing listens on port 1
    with pytest.raises(StoreUnavailable, match="^feedback unavailable: ") as e:
        open_store(Settings(database_url=url))
    assert "hunter2secret" not in str(e.value)
    assert Postgres(url).redact('invalid token: "hunter2secret@127"') == 'invalid token: "***@127"'


@pytest.fixture
def pg_url():
    """A schema of its own in the test database, dropped afterwards; skipped where no server answers."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_BASE, connect_timeout=1, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL server answers at {PG_BASE.split('@')[-1]}")
    name = f"qa_test_{secrets.token_hex(6)}"
    admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{name}&application_name={name}"
    finally:
        admin.execute(f"DROP SCHEMA {name} CASCADE")
        admin.close()


def test_postgres_runs_the_same_migration_path(pg_url):
    import psycopg

    dialect = Postgres(pg_url)
    conn = dialect.connect()
    assert migrate(conn, dialect, upto=1) == 1
    store = open_store(Settings(database_url=pg_url))
    assert store.migrate() == SCHEMA_VERSION  # again: a no-op
    versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    conn.execute("INSERT INTO schema_version VALUES (99, 0, 'from the future')")
    with pytest.raises(NewerSchema, match="PostgreSQL database test on 127.0.0.1 was made by a newer qa"):
        open_store(Settings(database_url=pg_url))
    conn.close()
    store.close()
    assert isinstance(psycopg.Error(), dialect.errors)


def test_postgres_gives_the_same_report_as_sqlite(pg_url, db):
    stores = [sqlite_store(db, store_questions=True), open_store(Settings(database_url=pg_url, store_questions=True))]
    reports = []
    for store in stores:
        write_the_week(store)
        with pytest.raises(UnknownAnswer):
            store.record_feedback("nope", "up", None)
        reports.append(store.report(parse_since("7d"), now=NOW).to_dict())
        store.close()
    check_the_week(reports[1])
    assert reports[0]["gaps"][0]["question"] in ("Dose of X?", "dose of x?")  # collation: either text
    for r in reports:
        r["gaps"][0]["question"] = None
    assert reports[0] == reports[1]

    from typer.testing import CliRunner

    from qa.cli import app

    r = CliRunner().invoke(app, ["report", "--json", "--since", "all"], env={"QA_DATABASE_URL": pg_url})
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["store"] == "PostgreSQL database test on 127.0.0.1" and d["answers"] == 6


def test_postgres_threads_writing_at_once_and_a_server_restart(pg_url):
    import psycopg

    store = open_store(Settings(database_url=pg_url))
    threads = [threading.Thread(target=lambda t=t: [store.record_answer(event(f"t{t}-{i}")) for i in range(50)])
               for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.report(parse_since("all")).answers == 200
    name = pg_url.rsplit("application_name=", 1)[1]
    with psycopg.connect(PG_BASE, autocommit=True) as admin:  # the server drops the store's connections
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (name,))
    store.record_answer(event("back"))  # a stale connection is replaced, and the write tried again
    assert store.prune() == 0 and store.report(parse_since("all")).answers == 201
    store.close()
