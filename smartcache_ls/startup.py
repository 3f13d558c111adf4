"""The engine built after the ``initialize`` reply, on a thread of its own; the editor's events wait.

Answering ``initialize`` needs pygls and the list of methods, nothing of the engine: its
imports (the cache tiers, the analysis, the predictor, pathspec, sqlite) and its set-up
cost about a fifth of the start-up. So the server answers first and then builds the
engine here, off the event loop. Until it is ready the loop keeps the editor's
notifications in a backlog, in order, and applies them once the engine is published
(on the loop, so a notification is never applied before an earlier one); a request
on a worker thread waits for it (:meth:`DeferredEngine.wait`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")

READY_TIMEOUT = 60.0  # seconds a request waits for the engine at most (a large stored model: seconds)


class DeferredEngine(Generic[E]):
    """One engine, built by ``build`` on a thread; ``close`` closes it once it exists."""

    def __init__(self, build: Callable[[], E], close: Callable[[E], None]) -> None:
        self._build = build
        self._close = close
        self._built: E | None = None
        self._engine: E | None = None  # published: on the loop, after the backlog
        self._backlog: list[Callable[[E], None]] | None = []  # None once the engine is published
        self._ready = threading.Event()  # published, or failed
        self._closed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Build the engine on a thread of its own and publish it on ``loop``."""
        self._thread = threading.Thread(target=self._run, args=(loop,), name="smartcache-start", daemon=True)
        self._thread.start()

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        engine: E | None = None
        try:
            engine = self._build()
        except Exception:
            log.exception("starting the engine failed")
        if engine is None:
            with contextlib.suppress(RuntimeError):  # (a closed loop: nobody waits)
                loop.call_soon_threadsafe(self._publish, None)
            self._ready.set()
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._built = engine
        if closed:  # shut down while it was being built
            self._close(engine)
            self._ready.set()
            return
        try:
            loop.call_soon_threadsafe(self._publish, engine)
        except RuntimeError:  # the loop is gone: nobody will use it
            self.close()

    def _publish(self, engine: E | None) -> None:
        """On the loop: apply what the editor sent meanwhile, in order, then serve."""
        backlog, self._backlog = self._backlog or [], None
        if engine is not None and not self._closed:
            self._engine = engine
            for call in backlog:
                try:
                    call(engine)
                except Exception:
                    log.exception("an editor event failed")
        self._ready.set()

    @property
    def engine(self) -> E | None:
        """The published engine (None while it is being built, or when building it failed)."""
        return self._engine

    def on_engine(self, call: Callable[[E], None]) -> None:
        """On the loop: ``call(engine)`` now, or once the engine is published (in arrival order)."""
        if self._backlog is not None:
            self._backlog.append(call)
        elif self._engine is not None:
            call(self._engine)

    def wait(self, timeout: float = READY_TIMEOUT) -> E | None:
        """From a worker thread: the engine once published (None if it failed or took too long)."""
        self._ready.wait(timeout)
        return self._engine

    def close(self, timeout: float = 30.0) -> None:
        """Close the engine: the one being built once it is done (waiting ``timeout`` at most)."""
        with self._lock:
            self._closed = True
            built, self._built = self._built, None
        if built is None and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            with self._lock:
                built, self._built = self._built, None
        if built is not None:
            self._close(built)

