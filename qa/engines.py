"""The engine a service answers with, swapped by hot reloads, closed by its last user.

A request holds the engine it was counted on for its whole life (`EngineSlot.use` yields exactly
that one): a reload meanwhile swaps in a new engine for later requests, and the old one is closed
(its embedding threads stopped) only when its last request ends. No HTTP here, so the rules are
unit-tested on their own.

>>> slot = EngineSlot("A")
>>> with slot.use() as held:
...     _ = slot.swap("B"); _ = slot.swap("C")
...     held, slot.current
('A', 'C')
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator


def close_engine(engine) -> None:
    """Release what an engine holds beyond memory (its embedding worker threads)."""
    close = getattr(engine, "close", None)
    if callable(close):
        close()


class EngineSlot:
    def __init__(self, engine: Any = None):
        self._engine = engine
        self._users: dict[int, int] = {}
        self._retired: dict[int, Any] = {}
        self._lock = threading.Lock()

    @property
    def current(self) -> Any:
        return self._engine

    @contextmanager
    def use(self) -> Iterator[Any]:
        """The current engine (None before the first load), counted until the block ends."""
        with self._lock:
            eng = self._engine
            if eng is not None:
                self._users[id(eng)] = self._users.get(id(eng), 0) + 1
        try:
            yield eng
        finally:
            if eng is not None:
                self._release(eng)

    def _release(self, eng: Any) -> None:
        done = None
        with self._lock:
            self._users[id(eng)] -= 1
            if not self._users[id(eng)]:
                del self._users[id(eng)]
                done = self._retired.pop(id(eng), None)
        if done is not None:
            close_engine(done)

    def swap(self, new: Any) -> Any:
        """Make ``new`` current; the old one is closed now if idle, else by its last user. Returns it."""
        with self._lock:
            old, self._engine = self._engine, new
            if old is None or old is new:
                return old
            if self._users.get(id(old)):
                self._retired[id(old)] = old
                return old
        close_engine(old)
        return old
