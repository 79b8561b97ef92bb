"""`--help` as a reader expects it at 80 columns.

typer 0.29 writes required arguments as ``{question}`` and types beside every option, flags
included (``--json <bool>``, ``--help <bool>``), and its tables cut long defaults off. qa's help
uses click's own forms instead: ``QUESTION``, ``[A.json]``, ``--json``; types only where a value
is typed in (``--top-k <int range> [1<=x<=50]``). `plain_help()` applies this once, to typer's
parameter classes, when `qa.cli.common` creates the app.
"""

from __future__ import annotations

from typer import core


def _argument_name(self) -> str:
    name = (self.metavar or self.name or "").upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def plain_help() -> None:
    if getattr(core, "_qa_plain_help", False):
        return
    option_type = core.TyperOption.display_type_rich
    core.TyperOption.display_type_rich = lambda self, ctx: None if self.is_flag else option_type(self, ctx)
    core.TyperArgument.display_type_rich = lambda self, ctx: None
    core.TyperArgument._usage_display_name = _argument_name
    core.TyperArgument._rich_display_name = lambda self: (self.metavar or self.name or "").upper()
    core._qa_plain_help = True
