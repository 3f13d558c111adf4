"""working_set's one-line file summaries: confined and checked fresh on every call, built once per
file state.

A summary is made from the file's analysis record (:meth:`Engine._analysis_record`, loaded like
a prefetch), and kept under two keys: the record's small meta (content hash, stat fields), and
the file state it was checked against (the editor buffer's content hash, or the file's device,
inode, mtime, ctime and size, stricter than the engine's own freshness check). A warm summary is
then a confinement check, one ``lstat`` and a dictionary lookup, without the record's freshness
walk and the graph's bookkeeping.

Confinement: ``rel`` is the predictor's, a path the workspace itself names. When no component
below the (resolved) root is a symlink, ``root/rel`` is what :func:`~smartcache_ls.paths.confine`
returns; the directories on the way are checked once per call (:class:`Walk`), the file's own
``lstat`` is also its stat. Anything else (a symlink, ``..``, a component missing or swapped)
goes through ``confine``. Reads never depend on this check: the engine reads through the checked
reader (:mod:`smartcache_ls.reader`), which opens nothing outside the root whatever is swapped
meanwhile, so a summary only ever describes content from inside.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..paths import PathRefused, check_regular_file, check_stat, confine, path_to_uri
from ..workspace import Workspace
from .cache import BytesCache

SUMMARY_SYMBOLS = 4  # top-level names a one-line summary names
CACHED_SUMMARIES = 64  # summaries kept per process, under each of their two keys

_by_record = BytesCache(CACHED_SUMMARIES)
_by_state = BytesCache(CACHED_SUMMARIES)


class Walk:
    """One call's view of the directories below a root: each checked once (a real directory,
    not a symlink) however many of the call's files are in it."""

    __slots__ = ("_dirs", "root")

    def __init__(self, root: Path) -> None:
        self.root = str(root).rstrip("/")
        self._dirs: dict[str, bool] = {}

    def lstat(self, rel: str) -> os.stat_result | None:
        """The ``lstat`` of ``root/rel`` when nothing on the way below the root is a symlink (the
        file itself included) and ``rel`` is plain (no empty, ``.`` or ``..`` part); else None."""
        parts = rel.split("/")
        if "" in parts or "." in parts or ".." in parts:
            return None
        path = self.root
        for part in parts[:-1]:
            path = f"{path}/{part}"
            real = self._dirs.get(path)
            if real is None:
                try:
                    real = stat.S_ISDIR(os.lstat(path).st_mode)
                except (OSError, ValueError):
                    real = False
                self._dirs[path] = real
            if not real:
                return None
        try:
            st = os.lstat(f"{path}/{parts[-1]}")
        except (OSError, ValueError):
            return None
        return None if stat.S_ISLNK(st.st_mode) else st


def quick_state(engine: Engine, ws: Workspace, rel: str, walk: Walk) -> tuple[Any, ...] | None:
    """The state of ``rel`` taken the quick way: ``(rel, buffer hash)`` for an editor buffer, else
    ``(rel, device, inode, mtime, ctime, size)`` of a regular file within the size limit; None when
    the quick way does not apply (a link or an odd name on the way, a secret, not a regular file,
    too large), and the engine's own checks answer, refusing what they must."""
    st = walk.lstat(rel)
    if st is None or ws.rules.secrets.matches(rel):
        return None
    with ws.lock:
        doc = ws.open_docs.get(rel)
    if doc is not None:
        return (rel, doc.hash)
    if not stat.S_ISREG(st.st_mode) or st.st_size > engine.settings.max_file_bytes:
        return None
    return (rel, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def summary_of(analysis: dict[str, Any]) -> str:
    symbols = analysis.get("symbols") or []
    head = ", ".join(f"{s.get('kind', '?')} {s.get('name', '?')}" for s in symbols[:SUMMARY_SYMBOLS])
    more = f" (+{len(symbols) - SUMMARY_SYMBOLS} more)" if len(symbols) > SUMMARY_SYMBOLS else ""
    imports = len(analysis.get("imports") or [])
    language = analysis.get("language") or "text"
    defines = f"; defines {head}{more}" if head else ""
    return f"{language}, {analysis.get('lines', 0)} lines, {imports} imports{defines}"


def file_summary(engine: Engine, ws: Workspace, rel: str, walk: Walk) -> str:
    """The one-line summary of ``rel`` in ``ws`` (the predictor's folder), or why it has none."""
    try:
        st = walk.lstat(rel)
        path: Path | None = None  # made when needed: a Path cost more than the lstat
        if st is None:  # a link or an odd name: confined the long way
            path, rel = confine(path_to_uri(ws.root / rel), ws.root, ws.rules.secrets)
        elif ws.rules.secrets.matches(rel):
            raise PathRefused("secret", f"{rel} is a secret (it matches secretPatterns): never read")
        with ws.lock:
            doc = ws.open_docs.get(rel)
        state: tuple[Any, ...]
        expect: dict[str, object]
        if doc is not None:  # the buffer's content, whatever the disk holds
            state, expect = (rel, doc.hash), {"hash": doc.hash}
        else:
            limit = engine.settings.max_file_bytes
            if st is None:
                st = check_regular_file(path or ws.root / rel, limit)
            elif not stat.S_ISREG(st.st_mode) or st.st_size > limit:
                check_stat(ws.root / rel, st, limit)  # refused, with the reason
            state = (rel, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
            expect = {"mtime_ns": st.st_mtime_ns, "size": st.st_size}
        summary: str | None = _by_state.get(state)
        if summary is not None:
            return summary
        # not a request of the developer's: loaded like a prefetch (as Engine.background_analysis),
        # so the editor's request hit ratios do not count it; checked fresh like any other read
        record, _ = engine._analysis_record(ws, path or ws.root / rel, rel, prefetch=True)
    except PathRefused as exc:
        return f"not readable: {exc.reason}"
    meta_bytes = record.data[record.meta_start : record.meta_end]
    key = (rel, meta_bytes if b'"hash":' in meta_bytes else record.data)
    summary = _by_record.get(key)
    if summary is None:
        summary = summary_of(record.body())
        _by_record.put(key, summary)
    meta = record.meta()
    if all(meta.get(name) == value for name, value in expect.items()):
        # the record is of the state looked at: later calls finding that state take its summary
        _by_state.put(state, summary)
    return summary


def forget() -> None:
    """Drop every summary kept (tests: the next call builds each anew)."""
    _by_record.clear()
    _by_state.clear()
