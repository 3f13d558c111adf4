"""The background index builder: lanes (threads) that (re)read files into the reference graph.

The engine submits the files of a workspace when it is indexed (all of them; a file whose
stored entry matches its state on disk costs a ``stat``), files the watcher saw change, and
saved files. Each lane takes the next few queued files, asks the engine for their entries
(``entries_for``: read and analysed by a worker process in one job, or ``UNCHANGED``, or None
when a file is gone or refused) and hands each to ``apply`` (which takes the workspace's lock
for that file alone, so the lock is held briefly). Its priority is a matter of order, not of
the OS: ``entries_for`` waits until the editor is quiet and the prefetcher idle, and a lane
yields between files. (Not a nice value: a low-priority thread that holds the GIL while the
OS runs other work would make the editor's event loop wait for it: a priority inversion.)

The graph recomputes edges lazily (graph.RefGraph.settle): whoever updates a workspace's graph
calls ``settle_later``, and the builder, once its queue is empty, settles that graph a slice at
a time through ``settle`` (which waits for the editor to be quiet, like ``entries_for``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Hashable, Iterable
from typing import Any

from .graph import FileEntry

log = logging.getLogger(__name__)

UNCHANGED = "unchanged"


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

    def take_free(self, busy: Container[str]) -> str | None:
        """The oldest queued file not in ``busy`` (one that is stays queued, in its place), or
        None."""
        for i, rel in enumerate(self.order):
            if rel not in busy:
                del self.order[i]
                if self.order:
                    self.members.discard(rel)
                else:
                    self.members = set()  # an emptied set keeps its table: 2 MB after 50,000 files
                return rel
        return None


Outcome = FileEntry | str | Exception | None  # a file's entry, UNCHANGED, what failed it, None: gone
EntriesFor = Callable[[Hashable, list[str]], list[Outcome]]  # (owner, files): their outcomes, in order
Apply = Callable[[Hashable, str, "FileEntry | None"], None]  # a file's entry, or None: it went
Settle = Callable[[Hashable], int]  # settle a slice of an owner's graph; how many files remain due


class IndexBuilder:
    """``parallel`` lanes (threads), each taking the next ``batch`` queued files, asking for
    their entries and applying each, so that work is in flight at all times: a worker process
    that answers finds the next job already waiting, and no lane waits for another (a batch
    that was applied once all its files were in left the workers idle meanwhile: the index used
    1.3 of 2 cores). A file is never in two lanes at once: queued again while in flight, it
    waits for its first read to be applied, so the later state wins."""

    def __init__(self, entries_for: EntriesFor, apply: Apply, settle: Settle | None = None) -> None:
        self._entries_for = entries_for
        self._apply = apply
        self._settle = settle
        self._unsettled: set[Hashable] = set()  # owners whose graph has edges due
        self._queues: dict[Hashable, _Queue] = {}  # owners in the order their work came
        self._inflight: dict[Hashable, set[str]] = {}  # owner -> the files lanes are reading
        self._settling: Hashable | None = None  # the owner a lane is settling (one at a time)
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # lanes wait on it for work
        self._idle_cond = threading.Condition(lock)  # wait_idle waits on it
        self._stopping = False
        self._lanes: list[threading.Thread] = []
        self._parallel = 1
        #: Files a lane asks for at once (the engine sets it: one worker job reads them all).
        self.batch = 1
        self.analysed = 0
        self.reused = 0
        self.dropped = 0
        self.failed = 0
        self.cpu_seconds = 0.0

    @property
    def parallel(self) -> int:
        """Lanes: batches whose entries are asked for at once (the engine sets it from what its
        analysis workers can run in the background)."""
        return self._parallel

    @parallel.setter
    def parallel(self, n: int) -> None:
        with self._cond:
            self._parallel = max(1, n)
            self._cond.notify_all()  # (lanes past the new count go idle)
        if self._lanes:
            self.start()

    def start(self) -> None:
        """Start the lanes (more, if ``parallel`` grew; they are daemons: a stuck one must not
        keep the process alive at exit)."""
        with self._cond:
            if self._stopping:
                return
            new = [
                threading.Thread(target=self._lane, args=(i,), name="smartcache-graph", daemon=True)
                for i in range(len(self._lanes), self._parallel)
            ]
            self._lanes.extend(new)
        for lane in new:
            lane.start()

    def submit(self, owner: Hashable, rels: Iterable[str]) -> None:
        """Queue files (never blocks; a file already queued keeps its place)."""
        with self._cond:
            queue = self._queues.get(owner)
            if queue is None:
                queue = self._queues[owner] = _Queue()
            before = len(queue.order)
            queue.add(rels)
            if not queue.order:
                del self._queues[owner]
            self._cond.notify(len(queue.order) - before)  # (a lane per new file, at most all)

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
            if self._idle():
                self._idle_cond.notify_all()

    def pending(self, owner: Hashable | None = None) -> int:
        """Files queued or in flight and graphs due to settle (of ``owner``, or of all)."""
        with self._cond:
            if owner is None:
                queued = sum(len(q.order) for q in self._queues.values())
                reading = sum(len(rels) for rels in self._inflight.values())
                return queued + reading + len(self._unsettled) + (self._settling is not None)
            queue = self._queues.get(owner)
            return (
                (len(queue.order) if queue else 0)
                + len(self._inflight.get(owner, ()))
                + (owner in self._unsettled)
                + (self._settling == owner)
            )

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._idle_cond.wait_for(self._idle, timeout)

    def _idle(self) -> bool:
        return not (self._queues or self._unsettled or self._inflight or self._settling is not None)

    def _woken(self) -> None:
        """A file or a settling step is done (lock held): wake whoever it lets go on. A lane
        that is done claims its next file itself; the others wait only for a file queued again
        while in flight, or for the last file to settle the graph after; wait_idle for the end.
        (Waking every lane after every file cost the index more than its own work.)"""
        if self._idle():
            self._idle_cond.notify_all()
        elif self._queues or (self._unsettled and not self._inflight):
            self._cond.notify()

    def _claim(self) -> tuple[Hashable, list[str]] | None:
        """(owner, up to ``batch`` of its files) for a lane to read, (owner, []) for one to
        settle, or None (lock held). Graphs settle once no file is queued or in flight: edges
        are recomputed once."""
        for owner, queue in list(self._queues.items()):
            reading = self._inflight.get(owner, set())
            rels: list[str] = []
            while len(rels) < self.batch and (rel := queue.take_free(reading)) is not None:
                rels.append(rel)
                reading.add(rel)
            if not queue.order:
                del self._queues[owner]
            if rels:
                self._inflight[owner] = reading
                return owner, rels
        if self._unsettled and not self._inflight and not self._queues and self._settling is None:
            owner = self._unsettled.pop()
            self._settling = owner
            return owner, []
        return None

    def _lane(self, index: int) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    work = self._claim() if index < self._parallel else None
                    if work is not None:
                        break
                    self._cond.wait()
            owner, rels = work
            if not rels:
                self._settle_step(owner)
                continue
            try:
                self._read(owner, rels)
            finally:
                with self._cond:
                    reading = self._inflight[owner]
                    reading.difference_update(rels)
                    if not reading:
                        del self._inflight[owner]
                    self._woken()

    def _read(self, owner: Hashable, rels: list[str]) -> None:
        """Ask for a few files' entries and apply them, one at a time; let the editor have the
        GIL after each."""
        start = time.thread_time()
        try:
            entries = self._entries_for(owner, rels)
            if len(entries) != len(rels):
                raise ValueError(f"{len(entries)} entries for {len(rels)} files")
        except Exception as exc:  # one bad batch must not stop the index
            entries = [exc] * len(rels)
        cpu = time.thread_time() - start
        with self._cond:
            self.cpu_seconds += cpu
            for entry in entries:
                if isinstance(entry, Exception):
                    self.failed += 1
                elif entry == UNCHANGED:
                    self.reused += 1
                elif entry is None:
                    self.dropped += 1
                else:
                    self.analysed += 1
        for rel, entry in zip(rels, entries, strict=True):
            if isinstance(entry, Exception):
                log.debug("indexing %s failed: %s", rel, entry)
                continue
            if entry is None or isinstance(entry, FileEntry):
                try:
                    self._apply(owner, rel, entry)
                except Exception:
                    log.exception("updating the reference graph failed")
            time.sleep(0)  # let the event loop and request threads have the GIL

    def _settle_step(self, owner: Hashable) -> None:
        assert self._settle is not None
        start = time.thread_time()
        try:
            left = self._settle(owner)
        except Exception:
            log.exception("settling the reference graph failed")
            left = 0
        with self._cond:
            self.cpu_seconds += time.thread_time() - start
            self._settling = None
            if left:
                self._unsettled.add(owner)
            self._woken()
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
            self._idle_cond.notify_all()
            lanes, self._lanes = self._lanes, []
        deadline = time.monotonic() + timeout
        for lane in lanes:
            lane.join(max(0.0, deadline - time.monotonic()))
