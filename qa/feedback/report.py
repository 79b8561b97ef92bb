"""What a site owner acts on, from the answer events and feedback of a time window.

`build_report` asks the store a handful of queries in the SQL both databases accept and computes
the rest (latency percentiles) in Python, so SQLite and PostgreSQL give the same report for the
same events. Each list is bounded (``limit``), most important first:

- ``gaps``: questions the sources could not answer (the corpus's gaps), grouped by question hash,
  most frequent first; the text only where the site stores questions;
- ``unhelpful``: answers rated down, with the comment and the citations they gave;
- ``top_documents``: the documents cited most, and how often in an answer rated down.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

LIMIT = 20
Query = Callable[[str, tuple], Sequence[Sequence[Any]]]  # (sql with ? placeholders, params) -> rows
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> float:
    """A window length in seconds from ``30m``, ``24h``, ``7d``, ``2w`` or ``all`` (no bound), so
    `qa report --since` and the admin report read the same spelling.

    >>> parse_since("7d"), parse_since("30m"), parse_since("all")
    (604800.0, 1800.0, inf)
    """
    t = text.strip().lower()
    if t == "all":
        return math.inf
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", t)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"since {text!r} is not a window: use a number and a unit, e.g. 30m, 24h, 7d, 2w, "
                         "or 'all'")
    return float(m.group(1)) * UNITS[m.group(2)]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation between the closest ranks (numpy's default);
    None without values. In Python because SQLite has no percentile function.

    >>> percentile([10, 20, 30, 40], 50), percentile([10, 20, 30, 40], 95), percentile([], 50)
    (25.0, 38.5, None)
    """
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


@dataclass
class Gap:
    question_hash: str
    question: str | None  # only where QA_STORE_QUESTIONS was on when it was asked
    count: int
    last_seen: float


@dataclass
class Unhelpful:
    answer_id: str
    rated_at: float
    asked_at: float
    question_hash: str
    question: str | None
    comment: str | None
    abstained: bool
    confidence: float
    index_id: str
    citations: list[dict] = field(default_factory=list)  # {doc_id, section, start, end}, in answer order


@dataclass
class DocumentCount:
    doc_id: str
    citations: int
    answers: int
    unhelpful: int  # citations of it in answers rated down


@dataclass
class Report:
    """The report of the events from ``since`` (epoch seconds; None: all of them), made at ``until``."""

    since: float | None
    until: float
    answers: int
    answered: int
    abstained: int
    degraded: int
    feedback_up: int
    feedback_down: int
    latency_ms: dict[str, float | int | None]  # count, p50, p95, max
    gaps: list[Gap]
    unhelpful: list[Unhelpful]
    top_documents: list[DocumentCount]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain dicts, lists, strings and numbers (no infinities)."""
        return asdict(self)


def build_report(query: Query, since_s: float, *, now: float | None = None, limit: int = LIMIT) -> Report:
    """The report of the last ``since_s`` seconds before ``now`` (math.inf: all of it)."""
    until = time.time() if now is None else now
    start = None if math.isinf(since_s) else until - since_s
    window = (-1.0 if start is None else start,)  # event times are epoch seconds, never negative; no upper
    # bound: a replica's clock a little ahead of this one's must not hide its latest events
    counts = query("SELECT COUNT(*), COALESCE(SUM(abstained), 0), COALESCE(SUM(degraded), 0) FROM answers "
                   "WHERE at >= ?", window)[0]
    ratings = dict(query("SELECT rating, COUNT(*) FROM feedback WHERE at >= ? GROUP BY rating", window))
    latencies = [r[0] for r in query("SELECT latency_ms FROM answers WHERE at >= ?", window)]
    answers, abstained = int(counts[0]), int(counts[1])
    return Report(
        since=start, until=until, answers=answers, answered=answers - abstained, abstained=abstained,
        degraded=int(counts[2]), feedback_up=int(ratings.get("up", 0)), feedback_down=int(ratings.get("down", 0)),
        latency_ms={"count": len(latencies), "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                    "max": max(latencies) if latencies else None},
        gaps=_gaps(query, window, limit), unhelpful=_unhelpful(query, window, limit),
        top_documents=_top_documents(query, window, limit))


def _gaps(query: Query, window: tuple, limit: int) -> list[Gap]:
    """Ties broken by the latest, then the hash: never by text, which the two databases collate
    differently."""
    rows = query("SELECT question_hash, MAX(question), COUNT(*), MAX(at) FROM answers "
                 "WHERE abstained = 1 AND at >= ? GROUP BY question_hash "
                 "ORDER BY COUNT(*) DESC, MAX(at) DESC, question_hash LIMIT ?", (*window, limit))
    return [Gap(question_hash=h, question=q, count=int(n), last_seen=float(t)) for h, q, n, t in rows]


def _unhelpful(query: Query, window: tuple, limit: int) -> list[Unhelpful]:
    rows = query("SELECT a.answer_id, f.at, a.at, a.question_hash, a.question, f.comment, a.abstained, "
                 "a.confidence, a.index_id FROM feedback f JOIN answers a ON a.answer_id = f.answer_id "
                 "WHERE f.rating = 'down' AND f.at >= ? ORDER BY f.at DESC, a.answer_id LIMIT ?",
                 (*window, limit))
    found = [Unhelpful(answer_id=r[0], rated_at=float(r[1]), asked_at=float(r[2]), question_hash=r[3],
                       question=r[4], comment=r[5], abstained=bool(r[6]), confidence=float(r[7]), index_id=r[8])
             for r in rows]
    if found:
        by_id = {u.answer_id: u for u in found}
        marks = ", ".join("?" * len(found))
        for answer_id, doc_id, section, start, end in query(
                "SELECT answer_id, doc_id, section, start_offset, end_offset FROM citations "
                f"WHERE answer_id IN ({marks}) ORDER BY answer_id, n", tuple(by_id)):
            by_id[answer_id].citations.append({"doc_id": doc_id, "section": section, "start": int(start),
                                               "end": int(end)})
    return found


def _top_documents(query: Query, window: tuple, limit: int) -> list[DocumentCount]:
    rows = query("SELECT c.doc_id, COUNT(*), COUNT(DISTINCT c.answer_id), "
                 "COALESCE(SUM(CASE WHEN f.rating = 'down' THEN 1 ELSE 0 END), 0), MAX(a.at) "
                 "FROM citations c JOIN answers a ON a.answer_id = c.answer_id "
                 "LEFT JOIN feedback f ON f.answer_id = c.answer_id "
                 "WHERE a.at >= ? GROUP BY c.doc_id "
                 "ORDER BY COUNT(*) DESC, MAX(a.at) DESC, c.doc_id LIMIT ?", (*window, limit))
    return [DocumentCount(doc_id=d, citations=int(n), answers=int(a), unhelpful=int(u)) for d, n, a, u, _ in rows]
