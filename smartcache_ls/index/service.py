"""The engine's side of the index: keeps each workspace's reference graph built, fresh and
persisted, and answers ``related`` and ``find_symbol``.

- When a workspace is indexed, its stored graph is loaded (SQLite meta, keyed by namespace)
  and every file with a grammar is submitted to the background builder; a file whose stored
  entry matches its mtime and size is reused, the others are read and analysed by a worker
  process at prefetch priority, which sends the graph's fields beside the analysis (the
  analysis is never decoded here); with shared analyses (Redis), through the engine's analysis
  path (``Engine._shared_analysis``).
- Every analysis the engine computes for a request or a prefetch updates the graph too
  (``learn``), the watcher's changes and saves resubmit files, deletions drop them.
- ``save`` persists what changed since the last save: one meta row per file (its entry's
  JSON), so a save writes the entries that changed, each encoded on its own. (One document for
  the whole graph, as older caches hold it, took one encode that held the GIL while the editor
  waited: 167 ms for 40 files of 300 KB, growing with the workspace.)

The analyses made for the index are not put in the cache: warming first visits is the
prefetcher's decision, measured as such.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..analysis import language_for
from ..cache.record import encode_json
from ..content import content_hash
from ..heap import return_free_memory
from ..paths import PathRefused, confine_path, decode_text, path_to_uri
from ..reader import read_checked
from ..workers import WorkerFailed
from .builder import UNCHANGED, IndexBuilder, Outcome
from .graph import QUERY_SETTLE_SECONDS, FileEntry, GraphFormatError, RefGraph, entry_from_analysis
from .symbols import lsp_range

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable

    from ..engine import Engine
    from ..workspace import Workspace

log = logging.getLogger(__name__)

GRAPH_META = "graph:{namespace}"  # the whole graph as one document: read from older caches only
GRAPH_FILE = "graph-file:{namespace}:"  # + a file's path: that file's entry (FileEntry.to_json)
#: A save writes its entries in transactions of at most this many rows and bytes.
SAVE_BATCH_ROWS = 256
SAVE_BATCH_BYTES = 4 << 20
#: Bytes of source one index job of a worker reads at most (or one larger file): a job runs
#: to its end once started, typing or not (the builder waits for the editor to be quiet before
#: each), so it is kept about as short as one file's (64 KB: ~20 ms of a worker's CPU here).
INDEX_JOB_BYTES = 64 * 1024
#: Files a build (or a save) takes in before the allocator's free pages are given back after it:
#: ``malloc_trim`` walks every heap (50-85 ms for a 600 MB heap, other threads' allocations
#: waiting on each heap's lock meanwhile): worth it after a build, not after each saved file.
TRIM_AFTER_FILES = 1000
OPEN_DOC = -1  # mtime_ns and size of an entry made from an editor buffer


class IndexService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.builder = IndexBuilder(self._entries_for, self._apply, self._settle)
        self.builder.start()
        # (what a save writes is what the graph marked unsaved since the last: a copy of the
        # stored entries to compare against was a 50,000-entry dict)
        self._legacy: set[str] = set()  # namespaces whose graph came from an older cache's document
        self._save_lock = threading.Lock()
        self._started: set[str] = set()  # namespaces whose files were submitted
        self._grown: dict[str, int] = {}  # namespace -> entries its graph took since the last trim

    # building -------------------------------------------------------------------------
    def start_workspace(self, ws: Workspace, files: Iterable[str]) -> None:
        """Load the stored graph of ``ws`` and queue its files (index thread)."""
        stored = self._load(ws)
        wanted = sorted(f for f in files if language_for(f) is not None)
        with ws.lock:
            if stored is not None and len(ws.graph) == 0:
                gone = set(stored.entries) - set(wanted)
                if ws.namespace not in self._legacy:  # (an older document is rewritten as rows)
                    stored.take_unsaved()  # (as stored; the gone files' rows are deleted)
                stored.drop(gone)
                ws.graph = stored
            ws.predictor.structure_changed()
        self.builder.submit(ws.namespace, wanted)
        self._started.add(ws.namespace)

    def _load(self, ws: Workspace) -> RefGraph | None:
        """The stored graph of ``ws``: its files' rows (a row that cannot be read is left out:
        that file is read again), else an older cache's single document, else None."""
        prefix = GRAPH_FILE.format(namespace=ws.namespace)
        items: dict[str, FileEntry] = {}
        rows = self.engine.sqlite.meta_with_prefix(prefix)
        for name, raw in rows:
            try:
                items[name[len(prefix) :]] = FileEntry.from_json(orjson.loads(raw))
            except (ValueError, TypeError) as exc:
                log.debug("stored graph entry %s unreadable (%s): read again", name, exc)
        if rows:
            return RefGraph.of_entries(items)
        document = self.engine.sqlite.get_meta(GRAPH_META.format(namespace=ws.namespace))
        if document is None:
            return None
        self._legacy.add(ws.namespace)  # its rows replace it at the next save
        try:
            return RefGraph.from_json(document)
        except GraphFormatError as exc:
            log.warning("stored reference graph of %s set aside and rebuilt: %s", ws.root, exc)
            return None

    def wait_ready(self, ws: Workspace, timeout: float) -> bool:
        """Request threads: wait (at most ``timeout`` s) until the workspace's index is built, so
        that an answer about who refers to a file is not missing the files not read yet."""
        deadline = time.monotonic() + timeout
        while ws.namespace not in self._started or self.builder.pending(ws.namespace):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def changed(self, ws: Workspace, rels: Iterable[str]) -> None:
        """Files changed or went (watcher, save): re-read them in the background."""
        self.builder.submit(ws.namespace, [r for r in rels if language_for(r) is not None])

    def learn(self, ws: Workspace, rel: str, value: dict[str, Any], st: os.stat_result | None) -> bool:
        """An analysis computed for a request or a prefetch: keep the graph in step with it.
        Returns whether the graph knew the file as it is (its structure was no news)."""
        if "names" not in value:
            return False
        with ws.lock:
            old = ws.graph.state(rel)
        if old is not None and old[2] == value.get("hash"):
            return True
        mtime, size = (st.st_mtime_ns, st.st_size) if st is not None else (OPEN_DOC, OPEN_DOC)
        entry = entry_from_analysis(value, mtime, size)
        with ws.lock:
            ws.graph.update({rel: entry})
            ws.predictor.structure_changed()
        self.builder.settle_later(ws.namespace)
        return False

    def _entries_for(self, owner: Hashable, rels: list[str]) -> list[Outcome]:
        """Builder lane: the entries of a few files, in order: each an entry, UNCHANGED, None
        when it is gone or refused, or what failed it. The files a worker is to read go to it
        a few per job (at most ``INDEX_JOB_BYTES`` of them, or one larger file)."""
        engine = self.engine
        ws = engine._by_namespace(owner)
        if ws is None:
            return [UNCHANGED] * len(rels)
        self._wait_turn()
        out: list[Outcome] = []
        job: list[tuple[int, str, Path]] = []  # (its place in out, rel, path): a worker reads it
        job_bytes = 0
        for rel in rels:
            try:
                found: Outcome | tuple[Path, int] = self._entry_here(ws, rel)
            except Exception as exc:
                found = exc
            if not isinstance(found, tuple):
                out.append(found)
                continue
            path, size = found
            if job and job_bytes + size > INDEX_JOB_BYTES:
                self._read_job(ws, job, out)
                job, job_bytes = [], 0
                self._wait_turn()
            job.append((len(out), rel, path))
            job_bytes += size
            out.append(None)
        self._read_job(ws, job, out)
        return out

    def _wait_turn(self) -> None:
        """Until the editor is quiet and a switch's prefetch, which goes before the index, done."""
        engine = self.engine
        engine.wait_quiet()
        while engine.prefetcher.busy():
            time.sleep(0.01)
            engine.wait_quiet()

    def _read_job(self, ws: Workspace, job: list[tuple[int, str, Path]], out: list[Outcome]) -> None:
        entries = self._worker_entries(ws, [(rel, path) for _, rel, path in job])
        for (i, _, _), entry in zip(job, entries, strict=True):
            out[i] = entry

    def _entry_here(self, ws: Workspace, rel: str) -> FileEntry | str | tuple[Path, int] | None:
        """One file's entry when no worker is to read it (UNCHANGED; None when it is gone or
        refused; an open document's, or with shared analyses through the engine's analysis
        path), else the path a worker is to read and its size."""
        engine = self.engine
        try:  # a secret (or a path leaving the workspace) is never read
            path, _ = confine_path(ws.root / rel, ws.root, ws.rules.secrets)
        except PathRefused:
            return None
        with ws.lock:
            old = ws.graph.state(rel)
            doc = ws.open_docs.get(rel)
        if doc is not None:
            if old is not None and old[2] == doc.hash:
                return UNCHANGED
            text, st = doc.text, None
        else:
            try:  # (the worker checks what it reads again: this only sizes its job)
                pre = os.stat(path, follow_symlinks=False)
            except OSError:
                return None
            if old is not None and old[:2] == (pre.st_mtime_ns, pre.st_size):
                return UNCHANGED
            if not engine._sharing():
                return path, pre.st_size
            try:
                data, st = read_checked(path, ws.root, engine.settings.max_file_bytes)
                text = decode_text(path, data)
            except PathRefused:
                return None
        # (in the prefetch worker: the index is background work, below the requests)
        value, _ = engine._shared_analysis(rel, text, content_hash(text), prefetch=True)
        value["resolvedImports"] = engine._resolved(ws, rel, list(value.get("imports", [])))
        if st is None:
            return entry_from_analysis(value, OPEN_DOC, OPEN_DOC)
        return entry_from_analysis(value, st.st_mtime_ns, st.st_size)

    def _worker_entries(self, ws: Workspace, files: list[tuple[str, Path]]) -> list[Outcome]:
        """The entries of files on disk from a worker that reads and analyses them, all in one
        job: the graph's fields (names, imports, definitions) come back, and the files' text
        never enters this process. A job that failed as a whole (a file that crashes the
        worker) is tried again a file at a time, so that only that file fails (the builder
        counts it; it stays as the graph knew it)."""
        if not files:
            return []
        engine = self.engine
        try:
            done = engine.pool.index_files(files, ws.root, engine.settings.max_file_bytes)
        except WorkerFailed as exc:
            if len(files) == 1:
                return [exc]
            return [self._worker_entries(ws, [one])[0] for one in files]
        out: list[Outcome] = []
        for (rel, _), one in zip(files, done, strict=True):
            if isinstance(one, PathRefused):
                out.append(None)  # gone, grown past the bound, not text, or no longer confined
                continue
            value = {
                "names": one.names,
                "hash": one.hash,
                "imports": one.imports,
                "definitions": one.definitions,
                "resolvedImports": engine._resolved(ws, rel, one.imports),
            }
            out.append(entry_from_analysis(value, one.mtime_ns or 0, one.size or 0))
        return out

    def _apply(self, owner: Hashable, rel: str, entry: FileEntry | None) -> None:
        """Builder lane: one file's entry into the graph, or the file out of it. (One file per
        take of the lock the editor's events need: a large file's definitions take a few ms
        to enter the symbol table; 16 of 300 KB held it 20-80 ms at once.)"""
        ws = self.engine._by_namespace(owner)
        if ws is None:
            return
        with ws.lock:
            if entry is None:
                ws.graph.drop([rel])
            else:
                ws.graph.update({rel: entry})
            ws.predictor.structure_changed()
            self._grown[ws.namespace] = self._grown.get(ws.namespace, 0) + 1
        self.builder.settle_later(owner)

    def _settle(self, owner: Hashable) -> int:
        """Builder thread: recompute a slice of the graph's due edges; how many remain due."""
        ws = self.engine._by_namespace(owner)
        if ws is None:
            return 0
        self.engine.wait_quiet()
        with ws.lock:
            left = ws.graph.settle()
            ws.predictor.structure_changed()
        if not left and self._grown.get(ws.namespace, 0) >= TRIM_AFTER_FILES:  # a build is done:
            del self._grown[ws.namespace]  # what decoding its answers left free goes back
            return_free_memory()
        return left

    # persistence ----------------------------------------------------------------------
    def save(self, ws: Workspace) -> None:
        """Write the entries that changed since the last save and delete the rows of files that
        left the graph, a batch per transaction."""
        namespace = ws.namespace
        with self._save_lock:
            with ws.lock:  # entries are replaced, never changed in place: these are a snapshot
                graph = ws.graph
                rels = graph.take_unsaved()
                if not rels:
                    return
                entries = {rel: graph.entries.get(rel) for rel in rels}
            prefix = GRAPH_FILE.format(namespace=namespace)
            batch: list[tuple[str, bytes | None]] = []
            size = 0
            done = 0
            try:
                for rel, entry in entries.items():
                    data = None if entry is None else encode_json(entry.to_json())
                    batch.append((prefix + rel, data))
                    size += 0 if data is None else len(data)
                    if len(batch) >= SAVE_BATCH_ROWS or size >= SAVE_BATCH_BYTES:
                        self.engine.sqlite.write_meta(batch)
                        done += len(batch)
                        batch.clear()
                        size = 0
                        time.sleep(0)  # let the event loop and request threads have the GIL
                self.engine.sqlite.write_meta(batch)
                done += len(batch)
            except BaseException:
                with ws.lock:  # what was not written is written by the next save
                    graph.mark_unsaved(itertools.islice(entries, done, None))
                raise
            if namespace in self._legacy:
                self.engine.sqlite.delete_meta(GRAPH_META.format(namespace=namespace))
                self._legacy.discard(namespace)
            if done >= TRIM_AFTER_FILES:  # a large save: what it filled and dropped goes back
                self.engine.sqlite.release_memory()
                return_free_memory()

    # queries --------------------------------------------------------------------------
    def related(self, ws: Workspace, rel: str, k: int) -> dict[str, Any]:
        with ws.lock:
            ws.graph.settle(QUERY_SETTLE_SECONDS)
            uses = ws.graph.refs(rel, k)
            used_by = ws.graph.referrers(rel, k)

        def items(edges: list[Any]) -> list[dict[str, Any]]:
            return [
                {"uri": path_to_uri(ws.root / e.target), "weight": e.weight, "names": list(e.names[:8])}
                for e in edges
            ]

        return {"uri": path_to_uri(ws.root / rel), "uses": items(uses), "usedBy": items(used_by)}

    def find_symbol(
        self, spaces: list[Workspace], name: str, kind: str | None, k: int
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ws in spaces:
            with ws.lock:
                found = ws.graph.symbols.find(name, kind, k - len(out))
            root: Path = ws.root
            out.extend(
                {"name": n, "kind": knd, "uri": path_to_uri(root / rel), "range": lsp_range(span)}
                for n, knd, rel, span in found
            )
            if len(out) >= k:
                break
        return out

    def stats(self, spaces: list[Workspace]) -> dict[str, Any]:
        files = edges = symbols = 0
        for ws in spaces:
            with ws.lock:
                files += len(ws.graph)
                edges += ws.graph.edge_count
                symbols += len(ws.graph.symbols)
        return {"files": files, "edges": edges, "symbols": symbols, **self.builder.stats()}

    def stop(self) -> None:
        self.builder.stop()
