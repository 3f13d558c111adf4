"""Indexing a workspace folder in the background, never holding the editor.

After a folder is added (outside the ``initialize`` handler) one thread
loads its stored model if that is large (see ``predict/stand_in.py``), watches
its non-ignored directories, scans its files, and reads its git
history. The workspace lock, which the editor's events need, is taken one
bounded slice at a time: a slice of scanned files joins the file index and the
predictor's name index together; the co-change table is built from the
history's slices with no lock at all, from the files the index holds only, and
swapped in at the end. ``IndexProgress`` says how far it got
(``smartcache/stats``: ``workspaces[].index``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .heap import freeze_long_lived
from .ignore import scan_files
from .predict.cochange import git_history_slices
from .predict.model import CoChangeTable, Predictor, index_entry
from .predict.stand_in import StandIn

if TYPE_CHECKING:
    from .watch import Watcher
    from .workspace import Workspace

log = logging.getLogger(__name__)

INDEX_SLICE = 256  # files added to the index per hold of the workspace lock (~0.5 ms)
MAX_FILES = 50_000  # files indexed at most (see the README: past it, files are served, not indexed)
MAX_COMMITS = 2000  # commits of git history read


class IndexProgress:
    """How far the background indexing of one workspace got; read from any thread."""

    STATES = ("pending", "model", "watching", "scanning", "history", "ready")

    def __init__(self) -> None:
        self.state = "pending"
        self.started = time.monotonic()
        self.files = 0
        self.commits = 0
        self.seconds: dict[str, float] = {}
        self.watch_count: Callable[[], int] | None = None  # directories watched now
        self.deferred_model: Callable[[], Predictor] | None = None  # a large stored model, unread
        self._ready = threading.Event()

    def enter(self, state: str) -> None:
        self.seconds[self.state] = round(time.monotonic() - self.started, 3)
        self.state = state
        if state == "ready":
            self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "files": self.files,
            "watchedDirs": self.watch_count() if self.watch_count is not None else 0,
            "commits": self.commits,
            "readySeconds": self.seconds.get("history") if self.state == "ready" else None,
            # when each phase ended, seconds after the folder was added (where ready goes)
            "phaseSeconds": dict(self.seconds),
        }


def index_workspace(ws: Workspace, watcher: Watcher | None, alive: Callable[[], bool]) -> None:
    """Watch, scan and read the history of ``ws``; stops early once ``alive()`` is false."""
    progress = ws.progress
    load = progress.deferred_model
    if load is not None:
        progress.enter("model")
        try:
            model = load()  # seconds for a full model: outside the lock
        except Exception:
            log.exception("loading the stored model of %s failed; it is rebuilt", ws.root)
            model = Predictor(structure=ws)
        with ws.lock:
            if isinstance(ws.predictor, StandIn):
                ws.predictor = ws.predictor.replay(model)  # what the editor taught it meanwhile
            progress.deferred_model = None
        freeze_long_lived()
    secrets = ws.rules.secrets  # the patterns the scan filters with
    files: list[str] | None = None
    if watcher is not None:
        progress.enter("watching")
        listed: list[str] = []

        def found(rel: str) -> None:
            if len(listed) < MAX_FILES:
                listed.append(rel)

        # one walk watches the folders and lists their files (the scan, in the same pass)
        if watcher.add(ws.root, ws.rules, found):
            files = listed
        progress.watch_count = functools.partial(watcher.watched_dirs, ws.root)
    progress.enter("scanning")
    if files is None:
        try:
            files = scan_files(ws.root, ws.rules, MAX_FILES)
        except OSError as exc:
            log.warning("indexing %s failed: %s", ws.root, exc)
            files = []
    for start in range(0, len(files), INDEX_SLICE):
        if not alive():
            return
        chunk = files[start : start + INDEX_SLICE]
        entries = [index_entry(rel) for rel in chunk]  # the costly part, outside the lock
        with ws.lock:
            if ws.rules.secrets is not secrets:  # secretPatterns changed during the scan
                secret = ws.rules.secrets.matches
                kept = [(rel, e) for rel, e in zip(chunk, entries, strict=True) if not secret(rel)]
                chunk, entries = [rel for rel, _ in kept], [e for _, e in kept]
            ws.known_files.update(chunk)
            ws.predictor.index_entries(entries)
        progress.files += len(chunk)
    progress.enter("history")
    keep = {rel: rel for rel in files}
    table = CoChangeTable()
    try:
        with contextlib.closing(git_history_slices(ws.root, MAX_COMMITS, keep=keep)) as slices:
            for batch in slices:
                if not alive():
                    return  # (closing the slices ends git)
                for names, size in batch:
                    table.add(names, size)
                progress.commits += len(batch)
        table.finish()
    except Exception as exc:  # a history we cannot read is only a missing signal
        log.debug("no co-change history for %s: %s", ws.root, exc)
        table = CoChangeTable()
    if table.counts:
        predictor = ws.predictor
        unindexed = predictor.unindexed(table.counts)  # (outside the lock: checked again inside)
        with ws.lock:
            ws.predictor.set_cochange(table, unindexed if ws.predictor is predictor else None)
    freeze_long_lived()  # the index's objects live as long as the workspace: out of full collections
    progress.enter("ready")
