"""`qa report`: what the feedback store says a site owner should act on (see `qa.feedback.report`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from qa.cli.common import app, fail, out


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} ms"


def _asked(question: str | None, digest: str) -> str:
    """The question's text where the site stores it, else the start of its hash (still groups repeats)."""
    return question if question else f"(not stored) #{digest[:12]}"


def _settings(db: Path | None) -> Any:
    """The service's own settings (QA_DATABASE_URL, QA_FEEDBACK_DB, ...); --db names a SQLite file
    and wins over both."""
    from pydantic import ValidationError

    from qa.service.settings import Settings

    try:
        return Settings() if db is None else Settings(feedback_db=db, database_url=None)
    except ValidationError as e:
        fail("invalid setting: " + "; ".join((f"{'.'.join(map(str, err['loc']))}: " if err["loc"] else "")
                                             + err["msg"].removeprefix("Value error, ") for err in e.errors()))


def _print_tables(rep: Any, where: str, since: str) -> None:
    """Rich tables, one per thing to act on; every cell is plain text (a doc id or comment with
    brackets in it is shown as written, never read as markup)."""
    from rich.table import Table
    from rich.text import Text

    lat = rep.latency_ms
    out.print(Text(f"qa report: {where}, {'everything' if rep.since is None else 'the last ' + since} "
                   f"(to {_when(rep.until)})", style="bold"))
    out.print(Text(f"{rep.answers} answers: {rep.answered} answered, {rep.abstained} abstained, "
                   f"{rep.degraded} degraded; feedback {rep.feedback_up} up, {rep.feedback_down} down; "
                   f"latency p50 {_ms(lat['p50'])}, p95 {_ms(lat['p95'])}, max {_ms(lat['max'])}"))
    tables = [
        ("Questions the sources could not answer (the corpus's gaps)", ("times", "last asked", "question"),
         [(str(g.count), _when(g.last_seen), _asked(g.question, g.question_hash)) for g in rep.gaps]),
        ("Answers rated unhelpful", ("rated", "question", "comment", "cited"),
         [(_when(u.rated_at), _asked(u.question, u.question_hash), u.comment or "",
           "; ".join(f"{c['doc_id']} {c['section'] or ''} {c['start']}-{c['end']}".replace("  ", " ")
                     for c in u.citations) or ("abstained" if u.abstained else "-")) for u in rep.unhelpful]),
        ("Most cited documents", ("document", "citations", "answers", "in unhelpful"),
         [(d.doc_id, str(d.citations), str(d.answers), str(d.unhelpful)) for d in rep.top_documents]),
    ]
    for title, columns, rows in tables:
        if not rows:
            out.print(Text(f"{title}: none", style="dim"))
            continue
        table = Table(title=title, title_justify="left", show_lines=False)
        for c in columns:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*(Text(cell) for cell in r))
        out.print(table)


@app.command(short_help="Report the corpus's gaps, unhelpful answers, most cited documents and latency.")
def report(
    since: Annotated[str, typer.Option(help="The window: 30m, 24h, 7d, 2w, or all.")] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON, for tools.")] = False,
    db: Annotated[Optional[Path], typer.Option(
        "--db", help="A SQLite feedback file to read (default: QA_DATABASE_URL, else QA_FEEDBACK_DB, "
        "feedback/qa.sqlite3).")] = None,
) -> None:
    """Report what `qa serve` recorded in the window: questions that abstained (what the corpus
    lacks, most frequent first), answers readers marked unhelpful with their comments and
    citations, the most cited documents, and answer latency. Questions are shown as text only
    where QA_STORE_QUESTIONS was on when they were asked; otherwise as the start of their hash.
    The store is the one `qa serve` uses (the same QA_* settings); --db reads another file."""
    from qa.feedback import StoreUnavailable, open_store, parse_since

    try:
        window = parse_since(since)
    except ValueError as e:
        fail(str(e))
    settings = _settings(db)
    if settings.database_url is None and not settings.feedback_db.is_file():
        fail(f"no feedback store at {settings.feedback_db} yet: it is created when qa serve answers its first question")
    store = None
    try:
        store = open_store(settings, connect=False)
        rep = store.report(window)
    except StoreUnavailable as e:
        fail(str(e))
    finally:
        if store is not None:
            store.close()
    if as_json:
        print(json.dumps({"store": store.where, **rep.to_dict()}, ensure_ascii=False))
    else:
        _print_tables(rep, store.where, since)
