"""What every `qa` command shares: the typer app, the two consoles, one-line errors, progress.

The commands live in `qa.cli` (index, ask), `qa.cli.eval`, `qa.cli.serve` and `qa.cli.train`;
each imports this module and none imports another, and `qa.cli.main` registers them all.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

app = typer.Typer(
    help="qa: answers clinical questions with sentences quoted verbatim from indexed sources, each cited.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

DEFAULT_INDEX = Path("index/default")


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)
