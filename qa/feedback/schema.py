"""The feedback store's tables, their migrations, and the one place SQLite and PostgreSQL differ.

One schema and one migration path serve both databases: every statement below is written once, in
the SQL both accept (``DOUBLE PRECISION``, ``INTEGER`` for booleans, ``ON CONFLICT ... DO UPDATE``,
``?`` placeholders). What differs (connecting, placeholders, how a transaction and the migration
lock are taken, which exceptions mean "the database failed") lives in the two small dialect
classes, `SQLite` and `Postgres`, and nowhere else.

A store records its version in ``schema_version`` (one row per migration applied). Opening runs the
migrations it lacks, in order, in one transaction under a lock (SQLite's write lock, PostgreSQL's
advisory lock), so several workers or replicas starting at once migrate it once. A store made by a
newer qa (a version this code does not know) is refused, never written.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

BUSY_TIMEOUT_S = 5.0  # how long a write waits for another writer's lock before 'feedback unavailable'
PG_TIMEOUTS_MS = 5000  # the same bound on a PostgreSQL statement, lock wait, or unanswered packet
PG_CONNECT_TIMEOUT_S = 2  # libpq's least: a server that does not answer costs one answer 2 s, then is skipped
MIGRATION_LOCK = 0x71A_FEED  # pg_advisory_xact_lock key: any fixed number, the same in every replica
WAL_LIMIT_BYTES = 64 << 20  # the WAL is truncated back to this after a checkpoint (a bounded file)


class StoreUnavailable(RuntimeError):
    """The store cannot be read or written now (disk full, locked too long, server gone, not
    installed). The message is one line fit for a user, beginning 'feedback unavailable'; the caller
    goes on answering questions, and the store works again once the cause is gone."""


class NewerSchema(StoreUnavailable):
    """The store was made by a newer qa: writing it with this code's idea of the tables could break it."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at DOUBLE PRECISION NOT NULL,
    description TEXT NOT NULL)"""

# Applied in order, each once; never edit one that has shipped: add the next.
MIGRATIONS = (
    Migration(1, "answers, their citations, and feedback on them", (
        """CREATE TABLE answers (
            answer_id TEXT PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            index_id TEXT NOT NULL,
            question_hash TEXT NOT NULL,
            question TEXT,
            abstained INTEGER NOT NULL,
            confidence DOUBLE PRECISION NOT NULL,
            mode TEXT NOT NULL,
            degraded INTEGER NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE citations (
            answer_id TEXT NOT NULL REFERENCES answers (answer_id) ON DELETE CASCADE,
            n INTEGER NOT NULL,
            doc_id TEXT NOT NULL,
            section TEXT,
            start_offset INTEGER NOT NULL,
            end_offset INTEGER NOT NULL,
            PRIMARY KEY (answer_id, n))""",
        """CREATE TABLE feedback (
            answer_id TEXT PRIMARY KEY REFERENCES answers (answer_id) ON DELETE CASCADE,
            at DOUBLE PRECISION NOT NULL,
            rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
            comment TEXT)""",
    )),
    Migration(2, "indexes for the report's time window and for retention", (
        "CREATE INDEX answers_at ON answers (at)",
        "CREATE INDEX answers_abstained_at ON answers (abstained, at)",
        "CREATE INDEX citations_doc ON citations (doc_id)",
        "CREATE INDEX feedback_at ON feedback (at)",
    )),
)
LATEST = MIGRATIONS[-1].version


def _wal(conn: sqlite3.Connection) -> None:
    """WAL mode. Switching a new file to it takes an exclusive lock and SQLite answers SQLITE_BUSY at
    once, without its busy handler, while another process switches the same file: several workers
    opening a new store together failed so (tests/test_feedback_store.py). Retry within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class SQLite:
    """One file, WAL mode: readers never block the writer, and several processes share the file.

    ``synchronous=NORMAL`` in WAL mode: a commit has been written to the WAL file (handed to the OS)
    before COMMIT returns, so a killed process loses nothing committed; only an OS crash or power
    loss can drop the last few commits, and never corrupts the file. FULL would fsync every answer
    (milliseconds each) to guard against that too."""

    kind = "sqlite"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def connect(self) -> sqlite3.Connection:
        """A connection in autocommit mode (qa opens each transaction itself), with the busy timeout
        that makes a writer wait for another's lock instead of failing at once."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            _wal(conn)
            for pragma in ("synchronous = NORMAL", "foreign_keys = ON", f"journal_size_limit = {WAL_LIMIT_BYTES}"):
                conn.execute(f"PRAGMA {pragma}").fetchall()
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def sql(text: str) -> str:
        return text

    @staticmethod
    @contextmanager
    def transaction(conn: sqlite3.Connection, *, migration: bool = False) -> Iterator[None]:
        """BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout): a deferred
        transaction that reads, then writes, can fail with 'database is locked' without waiting."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):  # SQLite may already have rolled back (a full disk does)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise

    @staticmethod
    def broken(conn: Any) -> bool:
        return False  # a file connection survives its errors (a full disk, a lock timeout)

    @staticmethod
    def redact(message: str) -> str:
        return message


class Postgres:
    """A PostgreSQL database shared by several replicas. psycopg is imported only here, when a
    postgresql:// URL is configured: SQLite needs no extra and no server."""

    kind = "postgresql"

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError:
            raise StoreUnavailable("feedback unavailable: QA_DATABASE_URL names PostgreSQL but psycopg is not "
                                   "installed: run .venv/bin/pip install -e '.[postgres]'") from None
        self._psycopg = psycopg
        self._url = url  # holds the password: never in a message (see describe)
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)

    def describe(self) -> str:
        u = urlsplit(self._url)
        return f"PostgreSQL database {u.path.lstrip('/') or '(default)'} on {u.hostname or 'localhost'}"

    def connect(self) -> Any:
        # tcp_user_timeout: a server that stops answering mid-query (no reset) fails in seconds, not minutes
        conn = self._psycopg.connect(self._url, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S,
                                     tcp_user_timeout=PG_TIMEOUTS_MS)
        conn.execute(f"SET statement_timeout = {PG_TIMEOUTS_MS}")
        conn.execute(f"SET lock_timeout = {PG_TIMEOUTS_MS}")
        return conn

    @staticmethod
    def sql(text: str) -> str:
        return text.replace("?", "%s")  # qa's SQL has no '?' or '%' of its own

    @staticmethod
    @contextmanager
    def transaction(conn: Any, *, migration: bool = False) -> Iterator[None]:
        """The advisory lock serialises replicas migrating at once (CREATE TABLE races otherwise)."""
        with conn.transaction():
            if migration:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            yield

    @staticmethod
    def broken(conn: Any) -> bool:
        return bool(conn.closed or conn.broken)  # a server gone: reconnect on the next call

    def redact(self, message: str) -> str:
        """libpq can quote a piece of the URL in an error (a bad option, a bad %-escape): never the password."""
        from urllib.parse import unquote

        password = urlsplit(self._url).password
        for secret in {self._url, password, unquote(password or "")} - {None, ""}:
            message = message.replace(secret, "***")
        return message


Dialect = SQLite | Postgres


def migrate(conn: Any, dialect: Dialect, *, upto: int = LATEST) -> int:
    """Apply the migrations the store lacks, in order, up to ``upto`` (tests stop early to make an
    old store); returns the store's version. Run again, it changes nothing."""
    def run(text: str, params: tuple = ()) -> Any:
        return conn.execute(dialect.sql(text), params)

    with dialect.transaction(conn, migration=True):
        run(VERSION_TABLE)
        current = run("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        if current > LATEST:
            raise NewerSchema(f"feedback unavailable: the store at {dialect.describe()} was made by a newer qa "
                              f"(schema version {current}; this qa knows up to {LATEST}): upgrade qa, or "
                              "point QA_FEEDBACK_DB or QA_DATABASE_URL at another store")
        for m in MIGRATIONS:
            if current < m.version <= upto:
                for statement in m.statements:
                    run(statement)
                run("INSERT INTO schema_version (version, applied_at, description) VALUES (?, ?, ?)",
                    (m.version, time.time(), m.description))
    return max(current, min(upto, LATEST))
