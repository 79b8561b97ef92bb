"""Progress for long commands: a bar on a terminal, and dated lines when stderr is a file or a pipe
(`qa eval` under nohup or CI printed nothing for minutes).

`progress()` returns either; both take `add_task`, `update`, `advance` as rich's `Progress` does.

>>> import io
>>> p = LineProgress(io.StringIO(), every_s=0)
>>> t = p.add_task("embed", total=4)
>>> p.advance(t, 4); p.stream.getvalue().splitlines()[-1].split("] ", 1)[1]
'embed 4/4 (100%)'
"""

from __future__ import annotations

import sys
import time
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

EVERY_S = 10.0  # a line at most this often per task (and at its start and end)


class LineProgress:
    def __init__(self, stream: IO[str] | None = None, every_s: float = EVERY_S):
        self.stream, self.every_s = stream or sys.stderr, every_s
        self.tasks: dict[int, dict] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description: str, total: float | None = None, visible: bool = True, **_) -> int:
        tid = len(self.tasks)
        self.tasks[tid] = {"name": description, "done": 0.0, "total": total, "visible": visible, "last": None}
        return tid

    def update(self, tid: int, completed: float | None = None, total: float | None = None,
               visible: bool | None = None, advance: float | None = None, **_) -> None:
        t = self.tasks[tid]
        if total is not None:
            t["total"] = total
        if visible is not None:
            t["visible"] = visible
        if completed is not None:
            t["done"] = completed
        if advance:
            t["done"] += advance
        self._maybe_print(t)

    def advance(self, tid: int, n: float = 1) -> None:
        self.update(tid, advance=n)

    def _maybe_print(self, t: dict) -> None:
        now = time.monotonic()
        finished = t["total"] is not None and t["done"] >= t["total"]
        # the first line always prints (time.monotonic() counts from boot: a machine up for less
        # than every_s would otherwise hold it back)
        recent = t["last"] is not None and now - t["last"] < self.every_s
        if not t["visible"] or (recent and not finished) or t.get("ended"):
            return
        t["last"], t["ended"] = now, finished
        share = f" ({100 * t['done'] / t['total']:.0f}%)" if t["total"] else ""
        total = f"/{t['total']:.0f}" if t["total"] is not None else ""
        print(f"[{time.strftime('%H:%M:%S')}] {t['name']} {t['done']:.0f}{total}{share}", file=self.stream, flush=True)


def progress(console: Console):
    """A rich bar on a terminal; LineProgress lines otherwise."""
    if console.is_terminal:
        return Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=console, transient=True)
    return LineProgress(console.file)
