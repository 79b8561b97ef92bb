"""Feedback and answer events: what was asked (a hash, or the text where the site allows it),
whether the sources answered, what was cited, and what readers thought of it; and the report a
site owner acts on (`qa report`, GET /v1/admin/report).

SQLite (one WAL-mode file) by default; PostgreSQL when QA_DATABASE_URL names one, for several
replicas sharing a store. `open_store(settings)` picks one; `qa.feedback.schema` holds the tables
and migrations, `qa.feedback.report` the report's queries.
"""

from __future__ import annotations

from qa.feedback.report import Report, parse_since
from qa.feedback.schema import LATEST as SCHEMA_VERSION
from qa.feedback.schema import NewerSchema, StoreUnavailable
from qa.feedback.store import AnswerEvent, FeedbackStore, UnknownAnswer, open_store, question_hash

__all__ = ["AnswerEvent", "FeedbackStore", "NewerSchema", "Report", "SCHEMA_VERSION", "StoreUnavailable",
           "UnknownAnswer", "open_store", "parse_since", "question_hash"]
