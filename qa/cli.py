"""The `qa` command: index a corpus, ask questions, evaluate, serve.

Errors a user can fix (missing corpus, missing or corrupt index, empty question) print one line
saying what to do and exit 2; they never show a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from qa.cli_common import DEFAULT_INDEX, _progress, app, err, fail, out  # noqa: F401  (tests use qa.cli.app)


@app.command()
def index(
    corpus: Annotated[Path, typer.Argument(help="Folder or file: .md .txt .html .pdf, or a BEIR corpus.jsonl.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the index goes (replaced atomically).")] = DEFAULT_INDEX,
    model: Annotated[str, typer.Option(envvar="QA_MODEL", help="sentence-transformers model name or path.")] = "all-MiniLM-L6-v2",
    reuse: Annotated[bool, typer.Option(help="Reuse vectors of unchanged texts from the existing index.")] = True,
    encoder: Annotated[str, typer.Option(envvar="QA_ENCODER", help="torch, or onnx (int8, ~2-5x faster, built locally once).")] = "torch",
) -> None:
    """Build a searchable index of CORPUS: chunks, sentences, vectors and BM25."""
    from qa.build import build_index
    from qa.corpus import CorpusError
    from qa.embed import EmbedderError, load_embedder
    from qa.store import IndexError_

    try:
        embedder = load_embedder(model, encoder)
        with _progress() as bar:
            task = bar.add_task("embed", total=None)
            stats = build_index(
                corpus, out_dir, embedder, reuse=reuse,
                progress=lambda stage, done, total: bar.update(task, completed=done, total=total),
                on_skip=lambda s: err.print(f"[yellow]skipped[/] {s.path}: {s.reason}", highlight=False),
            )
    except (CorpusError, EmbedderError, IndexError_) as e:
        fail(str(e))
    except OSError as e:
        fail(f"could not write the index to {out_dir}: {e.strerror or e}; the previous index is unchanged")
    out.print(
        f"indexed {stats.documents} documents: {stats.chunks} chunks, {stats.sentences} sentences "
        f"in {stats.total_seconds:.1f} s ({stats.embedded} texts embedded, {stats.reused} vectors reused, {stats.copies} repeated texts) -> {out_dir} "
        f"[index_id {stats.index_id}]"
    )
    if stats.skipped:
        out.print(f"{len(stats.skipped)} file(s) skipped (see warnings above)")


def _engine(index_dir: Path):
    from qa.answer_model import ModelError
    from qa.calibration import load_calibration
    from qa.embed import EmbedderError
    from qa.engine import Engine
    from qa.store import IndexError_

    try:
        return Engine.load(index_dir, calibration=load_calibration())
    except (IndexError_, EmbedderError, ModelError, ValueError) as e:
        fail(str(e))


def _print_answer(a) -> None:
    if a.abstained:
        out.print("[bold]The indexed sources do not answer this question.[/]")
        if a.passages:
            out.print("Closest passages:")
            for i, p in enumerate(a.passages[:3], start=1):
                quote = " ".join(p.text.split())[:160]
                out.print(f"  ({i}) {p.title} › {p.section}: “{quote}…”", highlight=False)
        return
    out.print(a.answer)
    out.print()
    for c in a.citations:
        where = " › ".join(x for x in (c.title, c.section) if x)
        extra = ", ".join(x for x in (f"p. {c.page}" if c.page else "", c.date or "") if x)
        quote = c.text if len(c.text) <= 120 else c.text[:117] + "…"
        out.print(f"[{c.id}] {where}" + (f" ({extra})" if extra else ""), highlight=False, markup=False)
        out.print(f"    “{quote}”  chars {c.start}-{c.end} of {c.doc_id}", highlight=False, markup=False)
    out.print(f"confidence {a.confidence:.2f} (estimated chance the quoted answer is right) · quotes from indexed sources: "
              "check them before clinical use",
              style="dim")


@app.command()
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
    from qa.engine import QuestionError
    from qa.types import Filters

    engine = _engine(index_dir)
    questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
    filters = Filters(doc_ids=tuple(doc)) if doc else None
    asked = 0
    for q in questions:
        if question == "-" and not q:
            continue
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
                out.print(f"[bold]Q: {q}[/]", highlight=False)
            _print_answer(a)
            if question == "-":
                out.print()
    if asked == 0:
        fail("no questions on standard input")


def main() -> None:
    from qa import eval_cli, serve_cli, train_cli  # noqa: F401  (register their commands on qa.cli.app)
    from qa.cli import app as registered  # under `python -m qa.cli` this module is __main__, not qa.cli

    registered()


if __name__ == "__main__":
    main()
