"""`qa ask`: answer a question (or one per line of standard input) from an index, with citations."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from qa.cli.common import DEFAULT_INDEX, app, fail, out


def _engine(index_dir: Path):
    from qa.query.answer_model import ModelError
    from qa.query.calibration import load_calibration
    from qa.embed import EmbedderError
    from qa.query.engine import Engine
    from qa.index.store import IndexError_

    try:
        return Engine.load(index_dir, calibration=load_calibration())
    except (IndexError_, EmbedderError, ModelError, ValueError) as e:
        fail(str(e))


def _print_answer(a) -> None:
    if a.corrections:
        read = ", ".join(f"{c['from']} → {c['to']}" for c in a.corrections)
        out.print(f"read as: {read} (words the sources use)", style="dim", highlight=False, markup=False)
    if a.abstained:
        out.print("[bold]The indexed sources do not answer this question.[/]")
        if a.passages:
            out.print("Closest passages:")
            for i, p in enumerate(a.passages[:3], start=1):
                quote = " ".join(p.text.split())[:160]
                where = " › ".join(x for x in (p.title, p.section) if x)  # no "title › :" without a section
                out.print(f"  ({i}) {where}: “{quote}…”", highlight=False)
        return
    for c in a.conflicts:  # never one value silently: both quotes are below, with this notice first
        see = " and ".join(f"[{i}]" for i in c["citations"])
        out.print(f"Sources differ on {c['what']}: {' vs '.join(c['values'])}; see {see}",
                  style="bold yellow", highlight=False, markup=False)
    out.print(a.answer)
    out.print()
    for c in a.citations:
        where = " › ".join(x for x in (c.title, c.section) if x)
        extra = ", ".join(x for x in (f"p. {c.page}" if c.page else "", c.date or "") if x)
        quote = c.text if len(c.text) <= 120 else c.text[:117] + "…"
        out.print(f"[{c.id}] {where}" + (f" ({extra})" if extra else ""), highlight=False, markup=False)
        out.print(f"    “{quote}”  chars {c.start}-{c.end} of {c.doc_id}", highlight=False, markup=False)
        for r in c.source_refs:  # the source's own references, numbered as the source numbers them
            listed = r.text or "cited by the source, not in its reference list"
            out.print(f"    source's reference {r.n}: {listed}" + (f" <{r.url}>" if r.url else ""),
                      style="dim", highlight=False, markup=False)
    out.print(f"confidence {a.confidence:.2f} (estimated chance the quoted answer is right) · quotes from indexed sources: "
              "check them before clinical use",
              style="dim")


@app.command(short_help="Answer a question with cited sentences, or abstain.")
def ask(
    question: Annotated[str, typer.Argument(help="The question, or - to read one question a line from stdin.")],
    index_dir: Annotated[Path, typer.Option("--index", envvar="QA_INDEX", help="Index folder.")] = DEFAULT_INDEX,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer contract as JSON (one line each).")] = False,
    top_k: Annotated[int, typer.Option(min=1, max=50, help="Passages to return.")] = 5,
    max_sentences: Annotated[int, typer.Option(min=1, max=10, help="Most sentences in an answer.")] = 3,
    mode: Annotated[Optional[str], typer.Option(help="hybrid-weighted (default), hybrid (RRF), bm25 or dense.")] = None,
    doc: Annotated[Optional[list[str]], typer.Option(help="Only these document ids (repeatable).")] = None,
) -> None:
    """Answer QUESTION with cited sentences from the index, or say the sources do not answer it."""
    from qa.query.question import QuestionError, prepare_question, resolve_mode
    from qa.types import Filters

    try:  # what can be checked without the model is checked first: an empty question fails at once
        if question != "-":
            prepare_question(question)
        if mode:
            resolve_mode(mode)
    except QuestionError as e:
        fail(str(e))
    engine = _engine(index_dir)
    questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
    filters = Filters(doc_ids=tuple(doc)) if doc else None
    asked = 0
    for q in questions:
        if question == "-" and not q and not as_json:
            continue  # --json keeps one output line per input line: a blank one gets an error object
        asked += 1
        try:
            a = engine.ask(q, top_k=top_k, max_sentences=max_sentences, filters=filters, mode=mode)
        except QuestionError as e:
            if as_json and question == "-":
                print(json.dumps({"question": q, "error": str(e)}), flush=True)
                continue
            fail(str(e))
        if as_json:
            print(json.dumps(a.to_dict(), ensure_ascii=False), flush=True)
        else:
            if question == "-":
                out.print(f"[bold]Q: {escape(q)}[/]", highlight=False)
            _print_answer(a)
            if question == "-":
                out.print()
    if asked == 0:
        fail("no questions on standard input")
