"""The background index builder: one thread, at the lowest priority, that (re)reads files
into the reference graph.

The engine submits the files of a workspace when it is indexed (all of them; a file whose
stored entry matches its state on disk costs a ``stat``), files the watcher saw change, and
saved files. The builder asks the engine for each file's entry (``entry_for``: read and
analysed through the engine's own analysis path, or ``UNCHANGED``, or None when the file is
gone or refused) and hands the results to ``apply`` in small batches (``apply`` takes the
workspace's lock once per file, so the lock is held briefly). Its priority is a matter of
order, not of the OS: ``entry_for`` waits until the editor is quiet and the prefetcher idle,
and the thread yields between files. (Not a nice
value: a low-priority thread that holds the GIL while the OS runs other work would make the
editor's event loop wait for it: a priority inversion.)

The graph recomputes edges lazily (graph.RefGraph.settle): whoever updates a workspace's graph
calls ``settle_later``, and the builder, once its queue is empty, settles that graph a slice at
a time through ``settle`` (which waits for the editor to be quiet, like ``entry_for``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from .graph import FileEntry

log = logging.getLogger(__name__)

UNCHANGED = "unchanged"
BATCH = 16  # entries handed to ``apply`` at once


class _Queue:
    """One owner's queued files, oldest first; a file already queued keeps its place. A deque
    and a set of the workspace's own path strings: 2.5 MB for 50,000 files, where an
    OrderedDict of (owner, path) tuples held 8 MB (a 100k-file workspace's RSS, measured by
    tracemalloc 2 s after it was ready)."""

    __slots__ = ("members", "order")

    def __init__(self) -> None:
        self.order: deque[str] = deque()
        self.members: set[str] = set()

    def add(self, rels: Iterable[str]) -> None:
        for rel in rels:
            if rel not in self.members:
                self.members.add(rel)
                self.order.append(rel)

    def take(self, n: int) -> list[str]:
        out = [self.order.popleft() for _ in range(min(n, len(self.order)))]
        if self.order:
            self.members.difference_update(out)
        else:  # a set keeps its table when emptied: 2 MB after a 50,000-file build
            self.members = set()
        return out


EntryFor = Callable[[Hashable, str], "FileEntry | str | None"]
Apply = Callable[[Hashable, dict[str, FileEntry | None]], None]
_Outcome = FileEntry | str | Exception | None  # an entry, UNCHANGED, what entry_for raised, None
Settle = Callable[[Hashable], int]  # settle a slice of an owner's graph; how many files remain due


class IndexBuilder:
    def __init__(self, entry_for: EntryFor, apply: Apply, settle: Settle | None = None) -> None:
        self._entry_for = entry_for
        self._apply = apply
        self._settle = settle
        self._unsettled: set[Hashable] = set()  # owners whose graph has edges due
        self._queues: dict[Hashable, _Queue] = {}  # owners in the order their work came
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.analysed = 0
        self.reused = 0
        self.dropped = 0
        self.failed = 0
        self.cpu_seconds = 0.0
        #: Files whose entries are asked for at once (the engine sets it to what its analysis
        #: workers can run in the background at once).
        self.parallel = 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="smartcache-graph", daemon=True)
            self._thread.start()

    def submit(self, owner: Hashable, rels: Iterable[str]) -> None:
        """Queue files (never blocks; a file already queued keeps its place)."""
        with self._cond:
            queue = self._queues.get(owner)
            if queue is None:
                queue = self._queues[owner] = _Queue()
            queue.add(rels)
            if not queue.order:
                del self._queues[owner]
            self._cond.notify()

    def settle_later(self, owner: Hashable) -> None:
        """The owner's graph has edges due: settle it once the queue is empty (never blocks)."""
        if self._settle is None:
            return
        with self._cond:
            if owner not in self._unsettled:
                self._unsettled.add(owner)
                self._cond.notify()

    def drop(self, owner: Hashable) -> None:
        with self._cond:
            self._unsettled.discard(owner)
            self._queues.pop(owner, None)

    def pending(self, owner: Hashable | None = None) -> int:
        with self._cond:
            busy = 1 if self._busy else 0
            if owner is None:
                return sum(len(q.order) for q in self._queues.values()) + len(self._unsettled) + busy
            queue = self._queues.get(owner)
            return (len(queue.order) if queue else 0) + (owner in self._unsettled) + busy

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._queues and not self._unsettled and not self._busy, timeout
            )

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queues and not self._unsettled and not self._stopping:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if self._stopping:
                    self._busy = False
                    self._cond.notify_all()
                    return
                self._busy = True
                batch: list[str] = []
                if not self._queues:  # only edges to settle
                    owner = self._unsettled.pop()
                else:
                    owner, queue = next(iter(self._queues.items()))
                    batch = queue.take(BATCH)
                    if not queue.order:
                        del self._queues[owner]
            if not batch:
                self._settle_step(owner)
                continue
            results: dict[str, FileEntry | None] = {}
            for rel, entry in self._entries(owner, batch):
                if isinstance(entry, Exception):  # one bad file must not stop the index
                    self.failed += 1
                    log.debug("indexing %s failed: %s", rel, entry)
                    continue
                if entry == UNCHANGED:
                    self.reused += 1
                elif entry is None:
                    self.dropped += 1
                    results[rel] = None
                elif isinstance(entry, FileEntry):
                    self.analysed += 1
                    results[rel] = entry
            if results:
                try:
                    self._apply(owner, results)
                except Exception:
                    log.exception("updating the reference graph failed")

    def _entry(self, owner: Hashable, rel: str) -> tuple[str, _Outcome, float]:
        """(rel, its entry or what entry_for raised, the CPU seconds it took this thread)."""
        start = time.thread_time()
        try:
            entry: _Outcome = self._entry_for(owner, rel)
        except Exception as exc:
            entry = exc
        cpu = time.thread_time() - start
        time.sleep(0)  # let the event loop and request threads have the GIL
        return rel, entry, cpu

    def _entries(self, owner: Hashable, batch: list[str]) -> Iterator[tuple[str, _Outcome]]:
        """The batch's entries, in order, ``parallel`` at a time (entry_for mostly waits on a
        worker process, so several in flight keep several workers busy): this thread and
        ``parallel - 1`` daemon helpers (a stuck one must not keep the process alive at exit)."""
        done: list[tuple[str, _Outcome, float] | None] = [None] * len(batch)
        todo = iter(range(len(batch)))
        lock = threading.Lock()

        def work() -> None:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                done[i] = self._entry(owner, batch[i])

        helpers = [
            threading.Thread(target=work, name="smartcache-graph-helper", daemon=True)
            for _ in range(min(self.parallel, len(batch)) - 1)
        ]
        for helper in helpers:
            helper.start()
        work()
        for helper in helpers:
            helper.join()
        for item in done:
            assert item is not None
            rel, entry, cpu = item
            self.cpu_seconds += cpu
            yield rel, entry

    def _settle_step(self, owner: Hashable) -> None:
        assert self._settle is not None
        start = time.thread_time()
        try:
            left = self._settle(owner)
        except Exception:
            log.exception("settling the reference graph failed")
            left = 0
        finally:
            self.cpu_seconds += time.thread_time() - start
        if left:
            with self._cond:
                self._unsettled.add(owner)
        time.sleep(0)  # let the event loop and request threads have the GIL

    def stats(self) -> dict[str, Any]:
        return {
            "queued": self.pending(),
            "analysed": self.analysed,
            "reused": self.reused,
            "dropped": self.dropped,
            "failed": self.failed,
            "cpuSeconds": round(self.cpu_seconds, 3),
        }

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._queues.clear()
            self._unsettled.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
