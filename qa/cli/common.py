"""What every `qa` command shares: the typer app, the two consoles, one-line errors, progress.

Each command is a module of `qa.cli` (index, ask, eval, train, serve) that imports this one and
no other command; importing the `qa.cli` package registers them all on `app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qa.cli.help import plain_help
from qa.cli.progress import progress

plain_help()

app = typer.Typer(
    rich_markup_mode=None,  # click's plain layout: wraps long help and defaults instead of cutting them
    help="qa: answers clinical questions with sentences quoted verbatim from indexed sources, each cited.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)  # a message is one line: a terminal wraps it, rich never cuts a command in two
out = Console(highlight=False, soft_wrap=True)

DEFAULT_INDEX = Path("index/default")


def fail(message: str, code: int = 2) -> None:
    """One line on stderr and exit ``code``; the message is plain text (a path or a pip extra such as
    '.[eval]' in it is shown as written, never read as rich markup)."""
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


# the modules of each pyproject extra a command checks for before it starts
EXTRAS = {"eval": ("ranx", "matplotlib")}


def require_extra(extra: str) -> None:
    """Fail with the install line when a command needs an optional part (a pyproject extra) that is
    not installed; the main job (index, ask, serve) needs none."""
    import importlib.util

    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        fail(f"this command needs qa's '{extra}' extra ({', '.join(missing)} not installed): "
             f"run .venv/bin/pip install -e '.[{extra}]' (./test.sh installs every extra)")


def _progress():
    """A bar on a terminal, dated lines when stderr is a file or pipe (`qa.cli.progress`)."""
    return progress(err)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"qa {version('qa')}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print qa's version and exit.")] = False) -> None:
    """qa: answers clinical questions with sentences quoted verbatim from indexed sources, each cited."""
