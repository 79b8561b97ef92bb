"""The feedback and answer-event store: one row per answer served (with its citations), one per
rating a reader gives it; SQLite by default, PostgreSQL for several replicas (`qa.feedback.schema`).

What is kept is decided here, in one place: the question's text only when the site turns on
``QA_STORE_QUESTIONS`` (a question may hold patient details), otherwise only its hash, so repeats
of the same unanswered question still group together in the report.

The server records answers from one writer thread per process, a batch per transaction
(`qa.service.feedback`), and may run several processes, so each write is
one short transaction on a connection a lock hands to one thread at a time (SQLite's busy timeout
and PostgreSQL's row locks handle the other processes); reads (the report) use a second connection,
so a long report never holds up an answer being recorded. Any database failure (a full disk, a lock
held too long, a server gone) is `StoreUnavailable` with a one-line message; the next call tries
again, so the store works once the cause is gone.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from qa.feedback.report import LIMIT, Report, build_report
import qa.feedback.schema as schema
from qa.feedback.schema import Dialect, Postgres, SQLite, StoreUnavailable, migrate

if TYPE_CHECKING:
    from qa.service.settings import Settings

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 500
PRUNE_EVERY = 1000  # answers recorded between automatic prunes (per process)
PRUNE_BATCH = 5000  # rows deleted per transaction: writers wait for at most one batch
RECONNECT_AFTER_S = 5.0  # after a failed connect, calls fail at once for this long (a server down)

T = TypeVar("T")

INSERT_ANSWER = ("INSERT INTO answers (answer_id, at, index_id, question_hash, question, abstained, confidence, "
                 "mode, degraded, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_CITATION = ("INSERT INTO citations (answer_id, n, doc_id, section, start_offset, end_offset) "
                   "VALUES (?, ?, ?, ?, ?, ?)")
UPSERT_FEEDBACK = ("INSERT INTO feedback (answer_id, at, rating, comment) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (answer_id) DO UPDATE SET at = excluded.at, rating = excluded.rating, "
                   "comment = excluded.comment")  # a reader who changes their mind: the last rating counts


class UnknownAnswer(LookupError):
    """Feedback names an answer the store does not have: never recorded, or past retention."""


def question_hash(question: str) -> str:
    """sha256 hex of the question with whitespace collapsed and lower-cased: the same question
    typed twice groups as one gap without its text being kept.

    >>> question_hash("What is  MRD?") == question_hash(" what is mrd? ")
    True
    >>> len(question_hash("x"))
    64
    """
    return hashlib.sha256(" ".join(question.split()).lower().encode("utf-8")).hexdigest()


def unavailable(e: BaseException) -> str:
    """The one line a user sees for a database error: its first line, no traceback, no URL."""
    lines = str(e).strip().splitlines()
    return f"feedback unavailable: {(lines[0] if lines else type(e).__name__)[:200]}"


@dataclass(frozen=True)
class AnswerEvent:
    """One answer served. ``question`` is the text asked; the store keeps it or only its hash."""

    answer_id: str
    at: float  # epoch seconds
    index_id: str
    question: str
    abstained: bool
    confidence: float
    mode: str
    degraded: bool
    latency_ms: float
    citations: tuple[dict, ...] = ()  # each {"doc_id", "section", "start", "end"}


class _Link:
    """One connection and the lock that lends it to one thread at a time; connected on first use,
    and again after a failure that broke it (a PostgreSQL server restarted).

    An outage must not slow every answer: a thread waits for the connection at most the busy
    timeout, and after a failed connect the next ones fail at once for RECONNECT_AFTER_S."""

    def __init__(self, dialect: Dialect):
        self._dialect = dialect
        self._lock = threading.Lock()
        self._conn: Any = None
        self._down: tuple[float, str] = (-math.inf, "")  # (until when, why) after a failed connect

    def run(self, work: Callable[[Any], T]) -> T:
        """``work(conn)``; a connection that had gone stale (the server restarted since its last use)
        is replaced and the work tried once more, so a restart costs no answer event."""
        if not self._lock.acquire(timeout=schema.BUSY_TIMEOUT_S):
            raise StoreUnavailable("feedback unavailable: the store is busy (writes are waiting for the database)")
        try:
            for attempt in (1, 2):
                fresh = self._conn is None
                try:
                    return work(self._connect() if fresh else self._conn)
                except self._dialect.errors as e:
                    broken = self._conn is not None and self._dialect.broken(self._conn)
                    if broken:
                        self._close()
                    if not broken or fresh or attempt == 2:
                        raise StoreUnavailable(self._dialect.redact(unavailable(e))) from e
            raise AssertionError("unreachable")
        finally:
            self._lock.release()

    def _connect(self) -> Any:
        until, why = self._down
        if time.monotonic() < until:
            raise StoreUnavailable(why)
        try:
            self._conn = self._dialect.connect()
        except self._dialect.errors as e:
            self._down = (time.monotonic() + RECONNECT_AFTER_S, self._dialect.redact(unavailable(e)))
            raise StoreUnavailable(self._down[1]) from e
        return self._conn

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(*self._dialect.errors):
                conn.close()


class FeedbackStore:
    """Answer events and feedback in one database; see the module docstring. Build one with
    `open_store`; the constructor is for tests that want small limits."""

    def __init__(self, dialect: Dialect, *, store_questions: bool = False, retention_days: float = 90,
                 max_rows: int = 1_000_000):
        self.dialect = dialect
        self.store_questions = store_questions
        self.retention_days = retention_days
        self.max_rows = max_rows
        self._writer, self._reader = _Link(dialect), _Link(dialect)
        self._migrated = False
        self._writes = 0
        self._count_lock = threading.Lock()

    @property
    def where(self) -> str:
        """The file, or the PostgreSQL database and host (never the URL: it may hold a password)."""
        return self.dialect.describe()

    def migrate(self) -> int:
        """Connect and bring the schema up to date (once per store; cheap when it already is)."""
        version = self._writer.run(lambda conn: migrate(conn, self.dialect))
        self._migrated = True
        return version

    def record_answer(self, event: AnswerEvent) -> None:
        """One committed row and its citations. ValueError for a malformed event (a caller's bug);
        StoreUnavailable when the database fails."""
        self.record_answers([event])

    def record_answers(self, events: list[AnswerEvent]) -> None:
        """Several events in one transaction (the server's writer batches what queued up while the
        last commit ran: one commit per batch, not per answer). ValueError, before anything is
        written, if any event is malformed; StoreUnavailable when the database fails (nothing of
        the batch is then written)."""
        rows, cites = [], []
        for event in events:
            row, cs = self._answer_rows(event)
            rows.append(row)
            cites += cs
        if not rows:
            return

        def work(conn: Any) -> None:
            with self.dialect.transaction(conn):
                conn.cursor().executemany(self.dialect.sql(INSERT_ANSWER), rows)
                if cites:
                    conn.cursor().executemany(self.dialect.sql(INSERT_CITATION), cites)

        self._write(work)
        with self._count_lock:
            due = (self._writes + len(rows)) // PRUNE_EVERY > self._writes // PRUNE_EVERY
            self._writes += len(rows)
        if due:  # retention without a scheduler; the answers are recorded whatever pruning does
            with suppress(StoreUnavailable):
                self.prune()

    def record_feedback(self, answer_id: str, rating: str, comment: str | None = None, *,
                        at: float | None = None) -> None:
        """A reader's rating of an answer ('up' or 'down', with an optional comment of at most 500
        characters); a second rating of the same answer replaces the first."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
        comment = (comment or "").strip() or None
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise ValueError(f"a comment is at most {MAX_COMMENT_CHARS} characters ({len(comment)} given)")
        params = (answer_id, time.time() if at is None else float(at), rating, comment)

        def work(conn: Any) -> None:
            with self.dialect.transaction(conn):
                found = conn.execute(self.dialect.sql("SELECT 1 FROM answers WHERE answer_id = ?"), (answer_id,))
                if found.fetchone() is None:
                    raise UnknownAnswer(f"no answer {answer_id[:64]!r}: it was never recorded or is past retention")
                conn.execute(self.dialect.sql(UPSERT_FEEDBACK), params)

        self._write(work)

    def report(self, since_s: float, *, now: float | None = None, limit: int = LIMIT) -> Report:
        """The report of the last ``since_s`` seconds (math.inf: everything; `parse_since` reads '7d')."""
        if not self._migrated:
            self.migrate()

        def work(conn: Any) -> Report:
            def query(text: str, params: tuple) -> list:
                return conn.execute(self.dialect.sql(text), params).fetchall()

            return build_report(query, since_s, now=now, limit=limit)

        return self._reader.run(work)

    def prune(self, *, now: float | None = None) -> int:
        """Retention: delete the events older than ``retention_days``, then the oldest beyond
        ``max_rows`` (their citations and feedback go with them); returns the events removed."""
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400
        removed = 0
        while True:
            n = self._delete_oldest("WHERE at < ?", (cutoff,), lambda conn: PRUNE_BATCH)
            removed += n
            if n < PRUNE_BATCH:
                break
        while n := self._delete_oldest("", (), self._excess):
            removed += n
        return removed

    def close(self) -> None:
        """Close both connections; a later call opens them again."""
        self._writer.close()
        self._reader.close()

    def _excess(self, conn: Any) -> int:
        total = conn.execute(self.dialect.sql("SELECT COUNT(*) FROM answers")).fetchone()[0]
        return min(max(int(total) - self.max_rows, 0), PRUNE_BATCH)

    def _delete_oldest(self, where: str, params: tuple, how_many: Callable[[Any], int]) -> int:
        """One transaction: delete up to how_many(conn) of the oldest events matching ``where``."""
        sql = (f"DELETE FROM answers WHERE answer_id IN (SELECT answer_id FROM answers {where} "
               "ORDER BY at, answer_id LIMIT ?)")

        def work(conn: Any) -> int:
            with self.dialect.transaction(conn):
                n = how_many(conn)
                return conn.execute(self.dialect.sql(sql), (*params, n)).rowcount if n > 0 else 0

        return self._write(work)

    def _write(self, work: Callable[[Any], T]) -> T:
        if not self._migrated:
            self.migrate()
        return self._writer.run(work)

    def _answer_rows(self, e: AnswerEvent) -> tuple[tuple, list[tuple]]:
        """The answers row (the question's text only with store_questions on) and citation rows."""
        if not e.answer_id or not all(math.isfinite(x) for x in (e.at, e.confidence, e.latency_ms)):
            raise ValueError("an answer event needs an answer_id and finite at, confidence and latency_ms")
        row = (e.answer_id, float(e.at), e.index_id, question_hash(e.question),
               e.question if self.store_questions else None, int(bool(e.abstained)), float(e.confidence),
               e.mode, int(bool(e.degraded)), float(e.latency_ms))
        try:
            cites = [(e.answer_id, n, str(c["doc_id"]), None if c["section"] is None else str(c["section"]),
                      int(c["start"]), int(c["end"])) for n, c in enumerate(e.citations)]
        except (KeyError, TypeError, ValueError):
            raise ValueError("each citation needs doc_id, section, start and end") from None
        return row, cites

    def _pragma(self, text: str) -> list:
        """Test hook (SQLite only): run ``PRAGMA text`` on the writing connection, e.g. max_page_count
        to make the disk 'full'."""
        assert isinstance(self.dialect, SQLite)
        return self._writer.run(lambda conn: conn.execute(f"PRAGMA {text}").fetchall())


def open_store(settings: Settings, *, connect: bool = True) -> FeedbackStore:
    """The store the settings name: PostgreSQL at QA_DATABASE_URL, else the SQLite file
    QA_FEEDBACK_DB (created with its folder). With ``connect`` it connects, migrates and applies
    retention now, so a bad store is one clear StoreUnavailable at start; without, on first use."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    dialect: Dialect = Postgres(url) if url else SQLite(settings.feedback_db)
    store = FeedbackStore(dialect, store_questions=settings.store_questions,
                          retention_days=settings.feedback_retention_days, max_rows=settings.feedback_max_rows)
    if connect:
        store.prune()
    return store
