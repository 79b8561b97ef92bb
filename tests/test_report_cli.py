"""`qa report`: tables by default, --json for tools, one-line errors for a missing store or a bad
window, and the same settings as `qa serve` (QA_FEEDBACK_DB, QA_DATABASE_URL)."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.feedback import AnswerEvent, open_store
from qa.service.settings import Settings


@pytest.fixture
def filled(tmp_path):
    db = tmp_path / "qa.sqlite3"
    store = open_store(Settings(feedback_db=db, database_url=None))
    now = time.time()
    cite = {"doc_id": "nccn/[aml]", "section": "Induction", "start": 5, "end": 40}
    store.record_answer(AnswerEvent("a1", now - 60, "idx", "dose of midostaurin?", False, 0.9, "auto", False, 12.0,
                                    (cite,)))
    for i, q in enumerate(["is there a vaccine for X?", "Is there a  vaccine for x?", "unanswerable"]):
        store.record_answer(AnswerEvent(f"g{i}", now - 30 + i, "idx", q, True, 0.1, "auto", False, 8.0))
    store.record_answer(AnswerEvent("old", now - 30 * 86400, "idx", "old question", True, 0.1, "auto", False, 9.0))
    store.record_feedback("a1", "down", "cites the [bold]wrong[/bold] trial")
    store.close()
    return db


def invoke(*args, **env):
    return CliRunner().invoke(app, ["report", *args], env={"COLUMNS": "160", "QA_DATABASE_URL": "", **env})


def test_the_tables_show_what_to_act_on(filled, monkeypatch):
    from qa.cli.common import out as console

    monkeypatch.setattr(console, "_width", 200)  # wide enough that no cell wraps
    r = invoke("--db", str(filled))
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "4 answers: 1 answered, 3 abstained" in out and "feedback 0 up, 1 down" in out and "p50 8 ms, p95 11 ms, max 12 ms" in out
    assert "Questions the sources could not answer" in out and "(not stored) #" in out
    assert "Answers rated unhelpful" in out and "cites the [bold]wrong[/bold] trial" in out  # as written
    assert "nccn/[aml] Induction 5-40" in out and "Most cited documents" in out
    assert "old question" not in out


def test_json_is_the_report(filled):
    r = invoke("--db", str(filled), "--json", "--since", "all")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["store"] == str(filled) and d["since"] is None and d["answers"] == 5
    assert [g["count"] for g in d["gaps"]] == [2, 1, 1]
    assert d["unhelpful"][0]["citations"][0]["doc_id"] == "nccn/[aml]"
    assert d["top_documents"] == [{"doc_id": "nccn/[aml]", "citations": 1, "answers": 1, "unhelpful": 1}]


def test_the_store_comes_from_the_service_settings(filled):
    r = invoke("--json", QA_FEEDBACK_DB=str(filled))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["answers"] == 4


def test_a_missing_store_is_one_line_and_is_not_created(tmp_path):
    missing = tmp_path / "nothing" / "qa.sqlite3"
    r = invoke("--db", str(missing))
    assert r.exit_code == 2
    assert r.stderr.strip() == (f"error: no feedback store at {missing} yet: it is created when qa serve answers "
                                "its first question")
    assert not missing.parent.exists()


@pytest.mark.parametrize("bad", ["7", "week", "-3d"])
def test_a_bad_window_is_one_line(filled, bad):
    r = invoke("--db", str(filled), "--since", bad)
    assert r.exit_code == 2
    assert "is not a window: use a number and a unit, e.g. 30m, 24h, 7d" in r.stderr
    assert "Traceback" not in r.output


def test_a_bad_database_url_is_one_line_without_the_url():
    r = invoke("--json", QA_DATABASE_URL="mysql://qa:hunter2secret@db/qa")
    assert r.exit_code == 2
    assert "QA_DATABASE_URL must start with postgresql://" in r.stderr and "hunter2secret" not in r.output


def test_an_unreachable_postgres_is_one_line():
    pytest.importorskip("psycopg")
    r = invoke("--json", QA_DATABASE_URL="postgresql://qa:hunter2secret@127.0.0.1:1/test")
    assert r.exit_code == 2
    assert r.stderr.startswith("error: feedback unavailable: ") and "hunter2secret" not in r.output


def test_help_explains():
    r = CliRunner().invoke(app, ["report", "--help"], env={"COLUMNS": "120"})
    assert r.exit_code == 0
    for needle in ("--since", "--json", "--db", "abstained", "QA_STORE_QUESTIONS", "30m, 24h, 7d"):
        assert needle in r.stdout, needle
