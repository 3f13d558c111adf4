"""The workspace watcher: a watchdog observer whose events are filtered and coalesced.

Watchdog calls back on its own thread, often several times for one write and
thousands of times for a ``git checkout``. The handler only records the latest
kind of change per path; a flusher thread hands each quiet-ended burst to the
engine as one batch. Nothing here touches the cache.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from .ignore import IgnoreRules
from .paths import relative_to_root

log = logging.getLogger(__name__)

CREATED, MODIFIED, DELETED = "created", "modified", "deleted"


@dataclass
class ChangeBatch:
    """Coalesced changes under one folder: path -> last kind, plus renames (old, new)."""

    root: Path
    changes: dict[str, str] = field(default_factory=dict)
    renames: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes or self.renames)


def _merge(changes: dict[str, str], rel: str, kind: str) -> None:
    """Fold a new event into the kind already recorded for ``rel`` in this burst."""
    before = changes.get(rel)
    if before == CREATED and kind == MODIFIED:
        return
    if before == DELETED and kind == CREATED:
        kind = MODIFIED  # an atomic save: replaced, not new
    changes[rel] = kind


OnBatch = Callable[[ChangeBatch], None]


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher, root: Path, rules: IgnoreRules) -> None:
        self.watcher = watcher
        self.root = root
        self.rules = rules

    def _rel(self, raw: bytes | str) -> str | None:
        path = os.fsdecode(raw)
        rel = relative_to_root(Path(path), self.root)
        if rel is None or self.rules.ignored(rel):
            return None
        return rel

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed", "closed_no_write"):
            return
        src = self._rel(event.src_path)
        if event.event_type == "moved":
            dest = self._rel(event.dest_path)
            self.watcher._record(self.root, src, dest)
        elif src is not None:
            kind = {"created": CREATED, "deleted": DELETED}.get(event.event_type, MODIFIED)
            self.watcher._record(self.root, src, None, kind)
        if src == ".gitignore":
            self.rules.reload()


class Watcher:
    """Watches workspace folders and reports coalesced change batches to ``on_batch``."""

    def __init__(self, on_batch: OnBatch, quiet: float = 0.15, max_delay: float = 1.0) -> None:
        self.on_batch = on_batch
        self.quiet = quiet
        self.max_delay = max_delay
        self._observer: BaseObserver | None = None
        self._watches: dict[Path, ObservedWatch] = {}
        self._pending: dict[Path, ChangeBatch] = {}
        self._first: float | None = None
        self._last = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._flusher: threading.Thread | None = None

    def start(self) -> None:
        if self._observer is not None:
            return
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._flusher = threading.Thread(target=self._flush_loop, name="smartcache-watch", daemon=True)
        self._flusher.start()

    def add(self, root: Path, rules: IgnoreRules) -> bool:
        """Watch ``root`` recursively. False (and a log line) when the OS refuses."""
        if self._observer is None:
            self.start()
        assert self._observer is not None
        if root in self._watches:
            return True
        try:
            self._watches[root] = self._observer.schedule(
                _Handler(self, root, rules), str(root), recursive=True
            )
        except OSError as exc:
            log.warning("cannot watch %s (%s); external edits there are seen only on access", root, exc)
            return False
        return True

    def remove(self, root: Path) -> None:
        watch = self._watches.pop(root, None)
        if watch is not None and self._observer is not None:
            with contextlib.suppress(KeyError, OSError):
                self._observer.unschedule(watch)

    def _record(self, root: Path, src: str | None, dest: str | None, kind: str = MODIFIED) -> None:
        with self._cond:
            batch = self._pending.setdefault(root, ChangeBatch(root))
            if src is not None and dest is not None:
                batch.renames.append((src, dest))
                _merge(batch.changes, src, DELETED)
                _merge(batch.changes, dest, CREATED)
            elif dest is not None:
                _merge(batch.changes, dest, CREATED)
            elif src is not None:
                _merge(batch.changes, src, kind)
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self._cond.notify()

    def _flush_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                now = time.monotonic()
                first = self._first if self._first is not None else now
                wait = min(self._last + self.quiet, first + self.max_delay) - now
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                batches = [b for b in self._pending.values() if b]
                self._pending = {}
                self._first = None
            for batch in batches:
                try:
                    self.on_batch(batch)
                except Exception:
                    log.exception("handling file changes under %s failed", batch.root)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        if self._flusher is not None:
            self._flusher.join(timeout=5)
            self._flusher = None
        self._watches.clear()
