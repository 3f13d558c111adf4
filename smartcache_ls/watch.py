"""The workspace watcher: inotify watches on the directories that are not ignored.

A recursive watch cannot leave out ``.git``, ``node_modules``, build output or
``.gitignore``d folders (on a 100k-file tree 69% of its watches were there), so
on Linux each non-ignored directory gets a watch of its own, all on one inotify
descriptor (watchdog's ``InotifyFD``, one reader thread): a directory that
appears is watched (and the files already in it reported), one that goes away
or becomes ignored (a ``.gitignore`` change) loses its watch. Elsewhere a
recursive watchdog observer filters events instead.

Events come, often several for one write and thousands for a ``git checkout``,
on the reader's thread; they only record the latest kind of change per path
(renames paired by their inotify cookie); a flusher thread hands each
quiet-ended burst to the engine as one batch. Nothing here touches the cache.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ignore import IgnoreRules
from .paths import relative_to_root

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent
    from watchdog.observers.api import BaseObserver, ObservedWatch
    from watchdog.observers.inotify_c import InotifyEvent, InotifyFD

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

# What a directory's watch reports: changes to its entries (never opens, reads or closes).
_IN_MODIFY, _IN_ATTRIB, _IN_MOVED_FROM, _IN_MOVED_TO = 0x2, 0x4, 0x40, 0x80
_IN_CREATE, _IN_DELETE, _IN_ONLYDIR, _IN_DONT_FOLLOW, _IN_EXCL_UNLINK = (
    0x100,
    0x200,
    0x01000000,
    0x02000000,
    0x04000000,
)
DIR_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_ONLYDIR
    | _IN_DONT_FOLLOW
    | _IN_EXCL_UNLINK
)
MAX_PENDING_MOVES = 4096  # moved-from events remembered while waiting for their moved-to


_DIR, _FILE, _LINKED_DIR = 0, 1, 2


def _kind(entry: os.DirEntry[str]) -> int:
    """A directory (descended, watched), a file (reported; a link to a file too, as ``os.walk``
    lists it), or a link to a directory (neither: never followed)."""
    if entry.is_dir(follow_symlinks=False):
        return _DIR
    if entry.is_symlink():
        with contextlib.suppress(OSError):
            if entry.is_dir():
                return _LINKED_DIR
    return _FILE


class _Tree:
    """The watches of one workspace folder: one per non-ignored directory, on ``fd``.

    Called back on the inotify reader's thread (``on_event``, ``on_watch_deleted``,
    ``on_queue_overflow``); ``sync`` runs on the caller's.
    """

    def __init__(self, watcher: Watcher, fd: InotifyFD, root: Path, rules: IgnoreRules) -> None:
        from watchdog.observers.inotify_c import CallbackId

        self.watcher = watcher
        self.fd = fd
        self.root = root
        self.rules = rules
        self.id = CallbackId(id(self))
        self.lock = threading.RLock()
        self.dir_of: dict[int, str] = {}  # watch descriptor -> workspace-relative dir ("" = root)
        self.wd_of: dict[str, int] = {}
        self.moves: dict[int, tuple[str, bool]] = {}  # cookie -> (moved-from path, is a dir)
        self.closed = False
        self.full = False  # the OS refused more watches (until a resync frees some)

    # watches -------------------------------------------------------------------
    def _watch(self, rel: str) -> bool:
        """Watch one directory; False when it is gone or cannot be watched."""
        from watchdog.observers.inotify_c import Mask

        if rel in self.wd_of:
            return True
        path = self.root / rel if rel else self.root
        if self.full:
            return False
        try:
            wd = self.fd.add_callback(os.fsencode(path), Mask(DIR_MASK), self, self.id)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE):  # the user's inotify limits: say it once
                self.full = True
                log.warning(
                    "cannot watch more of %s (%s, after %d directories); raise "
                    "fs.inotify.max_user_watches; external edits elsewhere are seen only on access",
                    self.root, exc, len(self.wd_of),
                )
            elif rel == "" or exc.errno not in (errno.ENOENT, errno.ENOTDIR):  # (not: gone meanwhile)
                log.warning("cannot watch %s (%s); external edits there are seen only on access", path, exc)
            return False
        self.dir_of[wd] = rel
        self.wd_of[rel] = wd
        return True

    def _unwatch(self, rel: str) -> None:
        """Drop the watches of ``rel`` and of every directory under it."""
        prefix = rel + "/"
        gone = [d for d in self.wd_of if d == rel or d.startswith(prefix)] if rel else list(self.wd_of)
        pairs = []
        for d in gone:
            wd = self.wd_of.pop(d)
            self.dir_of.pop(wd, None)
            pairs.append((wd, self.id))
        if pairs:
            with contextlib.suppress(OSError, KeyError):
                self.fd.remove_callbacks(pairs)  # type: ignore[arg-type]

    def walk(self, top: str, found: Callable[[str], None] | None = None) -> None:
        """Watch ``top`` and the non-ignored directories under it, each before it is listed (so no
        file created meanwhile goes unseen); ``found`` gets every non-ignored file listed."""
        stack = [top]
        while stack:
            rel = stack.pop()
            with self.lock:
                if self.closed or not self._watch(rel):
                    continue
            prefix = rel + "/" if rel else ""
            try:
                with os.scandir(self.root / rel if rel else self.root) as entries:
                    listed = sorted((e.name, _kind(e)) for e in entries)  # (os.walk's order: by name)
            except OSError:
                continue
            below = []
            for name, kind in listed:
                child = prefix + name
                if kind == _DIR:
                    if not self.rules.ignored(child, is_dir=True):
                        below.append(child)
                elif kind == _FILE and found is not None and not self.rules.file_ignored(child):
                    found(child)
            stack.extend(reversed(below))

    def sync(self) -> None:
        """Watch what is not ignored now and drop watches of what is (after a .gitignore change)."""
        with self.lock:
            stale = [d for d in self.wd_of if d and self.rules.ignored(d, is_dir=True)]
            for d in stale:
                self._unwatch(d)
            self.full = False
        self.walk("")

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self._unwatch("")

    # events (the inotify reader's thread) --------------------------------------
    def on_event(self, event: InotifyEvent) -> None:
        with self.lock:
            base = self.dir_of.get(event.wd)
        if base is None or not event.name:
            return  # a watch being dropped, or an event on the watched directory itself
        rel = (base + "/" if base else "") + os.fsdecode(event.name)
        record = self.watcher._record
        if event.is_directory:
            self._on_dir_event(event, rel)
            return
        if self.rules.ignored(rel):
            return
        if event.is_moved_from:
            self._remember_move(event.cookie, rel, False)
            record(self.root, rel, None, DELETED)
        elif event.is_moved_to:
            src = self.moves.pop(event.cookie, None)
            if src is not None and not src[1]:
                record(self.root, src[0], rel)
            else:
                record(self.root, None, rel)
        elif event.is_create:
            record(self.root, rel, None, CREATED)
        elif event.is_delete:
            record(self.root, rel, None, DELETED)
        else:
            record(self.root, rel, None, MODIFIED)
        if rel == ".gitignore":
            self.rules.reload()
            self.sync()

    def _on_dir_event(self, event: InotifyEvent, rel: str) -> None:
        if event.is_moved_from:
            # Renamed or moved away: its watches follow the inode, not the name; drop them now and
            # watch it again under the new name if it reappears here.
            self._remember_move(event.cookie, rel, True)
            with self.lock:
                self._unwatch(rel)
        elif event.is_create or event.is_moved_to:
            if self.rules.ignored(rel, is_dir=True):
                return
            src = self.moves.pop(event.cookie, None) if event.is_moved_to else None
            moved_from = src[0] if src is not None and src[1] else None
            cut = len(rel) + 1

            def found(child: str) -> None:
                if moved_from is not None:
                    self.watcher._record(self.root, f"{moved_from}/{child[cut:]}", child)
                else:
                    self.watcher._record(self.root, child, None, CREATED)

            self.walk(rel, found)

    def _remember_move(self, cookie: int, rel: str, is_dir: bool) -> None:
        if len(self.moves) >= MAX_PENDING_MOVES:
            self.moves.pop(next(iter(self.moves)))  # a moved-from whose moved-to never came
        self.moves[cookie] = (rel, is_dir)

    def on_watch_deleted(self, wd: int) -> None:
        with self.lock:
            rel = self.dir_of.pop(wd, None)
            if rel is not None and self.wd_of.get(rel) == wd:
                del self.wd_of[rel]

    def on_queue_overflow(self) -> None:
        log.warning("file events were lost under %s (inotify queue overflow); watching it again", self.root)
        self.moves.clear()
        self.sync()


class Watcher:
    """Watches workspace folders and reports coalesced change batches to ``on_batch``."""

    def __init__(self, on_batch: OnBatch, quiet: float = 0.15, max_delay: float = 1.0) -> None:
        self.on_batch = on_batch
        self.quiet = quiet
        self.max_delay = max_delay
        self._fd: InotifyFD | None = None
        self._trees: dict[Path, _Tree] = {}
        self._observer: BaseObserver | None = None  # without inotify: a recursive observer
        self._watches: dict[Path, ObservedWatch] = {}
        self._lock = threading.Lock()
        self._pending: dict[Path, ChangeBatch] = {}
        self._first: float | None = None
        self._last = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._flusher: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._flusher is not None or self._stopping:
                return
            try:
                from watchdog.observers.inotify_c import InotifyFD

                self._fd = InotifyFD()  # our own descriptor, not watchdog's shared one
                self._fd.daemon = True
                self._fd.start()
            except (ImportError, OSError) as exc:
                from watchdog.observers import Observer

                log.debug("no inotify (%s): a recursive observer filters events instead", exc)
                self._observer = Observer()
                self._observer.daemon = True
                self._observer.start()
            self._flusher = threading.Thread(target=self._flush_loop, name="smartcache-watch", daemon=True)
            self._flusher.start()

    def add(self, root: Path, rules: IgnoreRules, found: Callable[[str], None] | None = None) -> bool | None:
        """Watch the non-ignored directories of ``root``. This call walks them, and gives ``found``
        every non-ignored file it lists (the workspace scan, in the same pass). True: watched and
        walked; None: watched, not walked (already watched, or a recursive observer: scan it);
        False (and a log line): the OS refuses to watch ``root`` itself."""
        self.start()
        with self._lock:
            if self._stopping:
                return False
            fd = self._fd
            if fd is not None:
                if root in self._trees:
                    return None
                tree = self._trees[root] = _Tree(self, fd, root, rules)
        if fd is None:
            return None if self._add_recursive(root, rules) else False
        tree.walk("", found)
        return bool(tree.wd_of)

    def watched_dirs(self, root: Path) -> int:
        """How many directories of ``root`` are watched."""
        tree = self._trees.get(root)
        if tree is not None:
            return len(tree.wd_of)
        return 1 if root in self._watches else 0

    def remove(self, root: Path) -> None:
        with self._lock:
            tree = self._trees.pop(root, None)
        if tree is not None:
            tree.close()
        watch = self._watches.pop(root, None)
        if watch is not None and self._observer is not None:
            with contextlib.suppress(KeyError, OSError):
                self._observer.unschedule(watch)

    def _add_recursive(self, root: Path, rules: IgnoreRules) -> bool:
        assert self._observer is not None
        if root in self._watches:
            return True
        try:
            self._watches[root] = self._observer.schedule(
                _handler(self, root, rules), str(root), recursive=True
            )
        except OSError as exc:
            log.warning("cannot watch %s (%s); external edits there are seen only on access", root, exc)
            return False
        return True

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
        with self._lock:  # (add() checks _stopping under this lock)
            trees = list(self._trees.values())
            self._trees.clear()
        for tree in trees:
            tree.close()
        if self._fd is not None:
            self._fd.stop()
            self._fd.join(timeout=5)
            self._fd = None
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        if self._flusher is not None:
            self._flusher.join(timeout=5)
            self._flusher = None
        self._watches.clear()


def _handler(watcher: Watcher, root: Path, rules: IgnoreRules) -> Any:
    """A watchdog event handler for a recursive observer (where there is no inotify)."""
    from watchdog.events import FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        def _rel(self, raw: bytes | str) -> str | None:
            rel = relative_to_root(Path(os.fsdecode(raw)), root)
            if rel is None or rules.ignored(rel):
                return None
            return rel

        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.is_directory or event.event_type in ("opened", "closed", "closed_no_write"):
                return
            src = self._rel(event.src_path)
            if event.event_type == "moved":
                watcher._record(root, src, self._rel(event.dest_path))
            elif src is not None:
                kind = {"created": CREATED, "deleted": DELETED}.get(event.event_type, MODIFIED)
                watcher._record(root, src, None, kind)
            if src == ".gitignore":
                rules.reload()

    return Handler()
