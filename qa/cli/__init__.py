"""The `qa` command: index a corpus, ask questions, evaluate, train, serve.

Each command lives in its own module (`index`, `ask`, `eval`, `train`, `serve`) and registers on
the one typer app of `qa.cli.common`; none imports another. Importing this package registers
them all, so `qa.cli.app` is the whole command.

Errors a user can fix (missing corpus, missing or corrupt index, empty question) print one line
saying what to do and exit 2; they never show a traceback.
"""

from __future__ import annotations

from qa.cli import ask, index, report, serve, train, vocab  # noqa: F401  (each registers its command on app)
from qa.cli import eval as _eval  # noqa: F401  (a module, not the builtin)
from qa.cli.common import app


def main() -> None:
    app()
