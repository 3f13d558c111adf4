"""The background prefetcher: one worker thread, a bounded de-duplicated queue.

An access submits the predicted next files with ``supersede=True``: work queued
for an earlier access that has not started yet is dropped, since the developer
has moved on. Explicit requests (``smartcache/prefetch``) and refreshes of hot
entries are never superseded. The caller never waits on the worker.

Prefetch yields to the requests the user waits for: the engine wraps each in
:meth:`Prefetcher.yielding`, and the worker starts a job (and the engine takes up a
finished one, :meth:`Prefetcher.wait_quiet`) only once no request is in flight and
the last one ended (or the last switch came) ``quiet`` seconds ago, or after
``MAX_YIELD`` seconds at most,
so a steady stream of requests slows prefetch down but never starves it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import attrs

log = logging.getLogger(__name__)

#: Prefetch work waits this long after the last request ended...
QUIET = 0.01
#: ...but never longer than this in all.
MAX_YIELD = 1.0


PLAN = "plan"  # a job that plans a switch's prefetch (off the event loop) rather than warming a file
#: A job that plans the same switch again, now that the focused file's structure is known
#: (off the request that learnt it: the editor's answer never waits for planning).
REPLAN = "replan"
PLANS = frozenset({PLAN, REPLAN})


@attrs.frozen
class Job:
    """Warm ``rel`` of the workspace ``owner``; ``sticky`` jobs are not superseded."""

    owner: Hashable
    rel: str
    sticky: bool = False
    reason: str = "predicted"

    @property
    def key(self) -> tuple[Hashable, str, bool]:
        # a replan while the switch's plan is still queued is that plan: it will see the structure
        return (self.owner, self.rel, self.reason in PLANS)


class Prefetcher:
    def __init__(self, warm: Callable[[Job], None], max_queue: int = 256, quiet: float = QUIET) -> None:
        self._warm = warm
        self.max_queue = max_queue
        self.quiet = quiet
        self._requests = 0
        self._last_request = 0.0
        self._quiet = threading.Condition()
        self.yielded = 0.0  # seconds prefetch spent waiting for requests
        self._queue: deque[Job] = deque()
        self._queued: set[tuple[Hashable, str, bool]] = set()
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.submitted = 0
        self.completed = 0
        self.failed = 0
        self.superseded = 0
        self.dropped = 0

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="smartcache-prefetch", daemon=True)
            self._thread.start()

    def submit(self, jobs: list[Job], supersede: bool = False, first: bool = False) -> int:
        """Queue ``jobs`` (never blocks); ``first``: ahead of what is queued. Returns how many
        were newly queued."""
        if supersede:  # a switch: the editor's requests about the new file are on their way
            with self._quiet:
                self._last_request = time.monotonic()
        with self._cond:
            if supersede:
                kept = [job for job in self._queue if job.sticky]
                self.superseded += len(self._queue) - len(kept)
                self._queue = deque(kept)
                self._queued = {job.key for job in kept}
            fresh: list[Job] = []
            for job in jobs:
                if job.key in self._queued:
                    continue
                if len(self._queue) + len(fresh) >= self.max_queue:
                    self.dropped += 1
                    continue
                fresh.append(job)
                self._queued.add(job.key)
            if first:
                self._queue.extendleft(reversed(fresh))
            else:
                self._queue.extend(fresh)
            added = len(fresh)
            self.submitted += added
            if added:
                self._cond.notify()
        return added

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if self._stopping:
                    self._busy = False
                    self._cond.notify_all()
                    return
                job = self._queue.popleft()
                self._queued.discard(job.key)
                self._busy = True
            self.wait_quiet()
            try:
                self._warm(job)
                self.completed += 1
            except Exception as exc:  # a vanished or refused file must not kill the worker
                self.failed += 1
                log.debug("prefetch of %s failed: %s", job.rel, exc)

    def busy(self) -> bool:
        """Work is queued or running (the index builder waits for it)."""
        with self._cond:
            return bool(self._queue) or self._busy

    @contextlib.contextmanager
    def yielding(self) -> Iterator[None]:
        """Mark a request in flight: prefetch work holds back until it is done."""
        with self._quiet:
            self._requests += 1
        try:
            yield
        finally:
            with self._quiet:
                self._requests -= 1
                self._last_request = time.monotonic()
                self._quiet.notify_all()

    def wait_quiet(self, limit: float = MAX_YIELD, until: Callable[[], bool] | None = None) -> None:
        """Block until no request is in flight and none ended in the last ``quiet`` seconds,
        or ``limit`` seconds passed (prefetch's side of :meth:`yielding`), or ``until()`` holds
        (looked at every few ms: a request waiting on this very work must not wait longer)."""
        start = time.monotonic()
        deadline = start + limit
        with self._quiet:
            while until is None or not until():
                now = time.monotonic()
                left = deadline - now
                if self._requests == 0:
                    left = min(left, self._last_request + self.quiet - now)
                if left <= 0:
                    break
                self._quiet.wait(left if until is None else min(left, 0.005))
        self.yielded += time.monotonic() - start

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and the worker idle (tests, replay, shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def drop(self, owner: Hashable) -> None:
        """Forget queued work of a workspace that went away."""
        with self._cond:
            self._queue = deque(job for job in self._queue if job.owner != owner)
            self._queued = {job.key for job in self._queue}

    def stats(self) -> dict[str, Any]:
        with self._cond:
            queued = len(self._queue)
        return {
            "queued": queued,
            "submitted": self.submitted,
            "completed": self.completed,
            "failed": self.failed,
            "superseded": self.superseded,
            "dropped": self.dropped,
            "yieldedSeconds": round(self.yielded, 3),
        }

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._queued.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
