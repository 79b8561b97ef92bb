"""The engine a service answers with, swapped by hot reloads, closed by its last user, and the
`Service` around it that the endpoints share (first load, reload, concurrency slots).

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

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import anyio

from qa.service.guards import ApiError, scrub_paths

log = logging.getLogger("qa.api")


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


class Service:
    """What the endpoints share: the settings, the slot, the first load, reloads and the concurrency
    slots. ``engine`` given (tests): ready at once; else `load` (run by the app at start-up) loads
    ``settings.index``. Everything a request needs from it raises `ApiError`, never anything else.
    """

    def __init__(self, settings, engine=None, on_load_error: Callable[[Exception], None] | None = None,
                 on_ready: Callable[[Any], None] | None = None):
        from qa.query.calibration import load_calibration

        self.settings = settings
        self.slot = EngineSlot(engine)  # which engine answers; one swapped out is closed by its last user
        self.load_error: Exception | None = None
        self.on_load_error, self.on_ready = on_load_error, on_ready
        # what every engine (first load, reloads) is built with; the pool as wide as the answer slots
        self.engine_kw = {"embed_budget_ms": settings.embed_budget_ms or None, "calibration": load_calibration(),
                          "embed_workers": settings.max_concurrency}
        self._reload_lock = threading.Lock()
        self._sem: anyio.Semaphore | None = None  # made on first use, inside the server's event loop

    def index_id(self) -> str | None:
        return self.slot.current.index_id if self.slot.current is not None else None

    def load(self) -> None:
        """Load ``settings.index``, warm it up, make it current; a failure is kept for /v1/readyz."""
        from qa.query.engine import Engine

        t = time.perf_counter()
        try:
            eng = Engine.load(self.settings.index, **self.engine_kw)
            eng.ask("warm up the model and the retrievers")  # first forward pass and JIT paths, before ready
            self.slot.swap(eng)
        except Exception as e:  # noqa: BLE001  (IndexError_, EmbedderError, or anything unexpected)
            self.load_error = e
            log.error("could not load the index: %s", e)
            if self.on_load_error:
                self.on_load_error(e)
            return
        log.info("ready", extra={"fields": {"event": "ready", "index_id": self.index_id(),
                                            "documents": len(self.slot.current.data.docs),
                                            "load_s": round(time.perf_counter() - t, 2)}})
        if self.on_ready:
            self.on_ready(self.slot.current)

    def ready(self, held=None):
        """``held`` (the request's counted engine) or the current one; 503 while there is none."""
        eng = held if held is not None else self.slot.current
        if eng is None:
            if self.load_error is not None:
                raise ApiError(503, "not_ready", "the index could not be loaded; see the server log")
            raise ApiError(503, "not_ready", "the index is still loading; try again shortly", {"retry-after": "5"})
        return eng

    async def run(self, fn: Callable, *args):
        """``fn(*args)`` in a worker thread, in one of ``max_concurrency`` slots; 503 when none frees
        up within ``queue_timeout_s`` (a queue that waits forever only moves the timeout to the client)."""
        if self._sem is None:
            self._sem = anyio.Semaphore(self.settings.max_concurrency)
        busy = ApiError(503, "overloaded", "the server is busy; try again in a moment", {"retry-after": "1"})
        try:
            if self.settings.queue_timeout_s <= 0:
                self._sem.acquire_nowait()
            else:
                with anyio.fail_after(self.settings.queue_timeout_s):
                    await self._sem.acquire()
        except (anyio.WouldBlock, TimeoutError):
            raise busy from None
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            self._sem.release()

    def reload(self, trigger: str = "api", request_id: str = "") -> dict[str, Any]:
        """Load the index at ``settings.index`` and swap it in; ApiError when it cannot be (old one stays)."""
        if not self._reload_lock.acquire(blocking=False):
            raise ApiError(409, "reload_in_progress", "a reload is already running; try again when it has finished")
        try:
            current = self.slot.current
            if current is None:
                raise ApiError(503, "not_ready", "the index is still loading; reload once it is ready",
                               {"retry-after": "5"})
            fields = {"event": "reload", "trigger": trigger, "request_id": request_id,
                      "previous_index_id": current.index_id}
            t = time.perf_counter()
            new, reused = self._load_beside(current, fields)
            self.slot.swap(new)
            out = {"status": "reloaded", "index_id": new.index_id, "previous_index_id": current.index_id,
                   "changed": new.index_id != current.index_id, "documents": len(new.data.docs),
                   "embedder_reused": reused, "load_s": round(time.perf_counter() - t, 3)}
            log.info("reloaded", extra={"fields": dict(fields, **out)})
            return out
        finally:
            self._reload_lock.release()

    def _load_beside(self, current, fields: dict[str, Any]):
        """(a warmed-up engine for ``settings.index``, whether ``current``'s embedder was reused)."""
        from qa.embed import EmbedderError, load_embedder
        from qa.index.store import IndexError_, load_index, read_manifest
        from qa.query.engine import Engine

        old_id = current.index_id
        folder, model = Path(self.settings.index), None
        try:
            folder = folder.resolve()  # one target: `qa index` may swap the link again while we read
            manifest = read_manifest(folder)
            model = manifest.get("model")  # a model path may hold spaces: scrubbed whole below
            embedder = getattr(current, "embedder", None)
            reused = embedder is not None and getattr(embedder, "name", None) == manifest.get("model")
            if not reused:
                embedder = load_embedder(str(manifest.get("model")), role="question")
            data = load_index(folder, expect_model=embedder.name, expect_dim=embedder.dim)
            new = Engine(data, embedder, **self.engine_kw)
            new.ask("warm up the model and the retrievers")
            return new, reused
        except (IndexError_, EmbedderError) as e:
            text = str(e)
            if model and any(sep in str(model) for sep in "/\\"):  # a model folder, not a name: hide it whole
                text = text.replace(str(model), "<model path>")
            message = scrub_paths(text, self.settings.index, folder)
            log.error("reload failed", extra={"fields": dict(fields, status="failed", error=str(e))})
            raise ApiError(409, "reload_failed", f"reload failed; still serving index {old_id}: {message}") from None
        except Exception as e:  # noqa: BLE001  (anything unexpected: logged, never shown)
            log.error("reload failed", exc_info=True, extra={"fields": dict(fields, status="failed", error=repr(e))})
            raise ApiError(500, "reload_failed", f"reload failed with an internal error (logged under this "
                                                 f"request id); still serving index {old_id}") from None

    def reload_in_background(self, trigger: str = "SIGHUP") -> None:
        """For signal handlers and other fire-and-forget callers: reload in a thread, log the outcome."""
        def run():
            try:
                self.reload(trigger)
            except ApiError as e:
                if e.code in ("reload_in_progress", "not_ready"):
                    log.warning("reload skipped: %s", e.message)
                # reload_failed was logged by reload
        threading.Thread(target=run, name="qa-reload-index", daemon=True).start()
