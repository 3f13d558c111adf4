"""The background prefetcher: one worker thread, a bounded de-duplicated queue.

An access submits the predicted next files with ``supersede=True``: work queued
for an earlier access that has not started yet is dropped, since the developer
has moved on. Explicit requests (``smartcache/prefetch``) and refreshes of hot
entries are never superseded. The caller never waits on the worker.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

import attrs

log = logging.getLogger(__name__)


PLAN = "plan"  # a job that plans a switch's prefetch (off the event loop) rather than warming a file


@attrs.frozen
class Job:
    """Warm ``rel`` of the workspace ``owner``; ``sticky`` jobs are not superseded."""

    owner: Hashable
    rel: str
    sticky: bool = False
    reason: str = "predicted"

    @property
    def key(self) -> tuple[Hashable, str, bool]:
        return (self.owner, self.rel, self.reason == PLAN)


class Prefetcher:
    def __init__(self, warm: Callable[[Job], None], max_queue: int = 256) -> None:
        self._warm = warm
        self.max_queue = max_queue
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

    def submit(self, jobs: list[Job], supersede: bool = False) -> int:
        """Queue ``jobs`` (never blocks). Returns how many were newly queued."""
        added = 0
        with self._cond:
            if supersede:
                kept = [job for job in self._queue if job.sticky]
                self.superseded += len(self._queue) - len(kept)
                self._queue = deque(kept)
                self._queued = {job.key for job in kept}
            for job in jobs:
                if job.key in self._queued:
                    continue
                if len(self._queue) >= self.max_queue:
                    self.dropped += 1
                    continue
                self._queue.append(job)
                self._queued.add(job.key)
                added += 1
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
