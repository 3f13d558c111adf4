"""The engine: composes the cache, the predictors, the prefetcher and the watcher.

It is usable without LSP (the server adapts LSP to it; tests and the replay
drive it directly). Data flows one way: an event reaches the engine, the
workspace's predictor learns from it and ranks the next files, the prefetcher
warms them into the cache. A request resolves its uri inside a workspace,
reads the cache (loading on a miss, once), and answers with where the value
came from.

Threads: editor notifications arrive on the server's event loop and must stay
cheap (no disk); requests run on the server's worker threads; the prefetcher
and the watcher have one thread each. Per-workspace state is guarded by the
workspace's lock; the cache is thread-safe on its own.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from . import __version__
from .cache.memory import MemoryTier
from .cache.private import usable_cache_dir
from .cache.record import Record, RecordError, encode_json, encode_record, pack
from .cache.shared import fetch_verified
from .cache.sqlite import SqliteTier
from .cache.tiered import TieredCache
from .content import content_hash
from .heap import freeze_long_lived, gc_monitor, process_memory
from .index.graph import QUERY_SETTLE_SECONDS
from .index.service import IndexService
from .indexing import index_workspace
from .mcp.link import LIVE_DIR
from .paths import (
    PathRefused,
    check_regular_file,
    confine,
    confine_path,
    decode_text,
    path_to_uri,
    resolve_path,
    uri_to_path,
)
from .predict.model import ModelFormatError, Predictor
from .predict.stand_in import StandIn
from .prefetch import PLAN, PLANS, REPLAN, Job, Prefetcher
from .prefetch_plan import RECENT, UNKNOWN_COST
from .prefetch_stats import PrefetchLedger
from .protocol import PredictionItem, RawJSON
from .reader import read_checked
from .redact import mask_value
from .secrets import SecretPatterns
from .settings import Settings
from .watch import CREATED, DELETED, ChangeBatch, Watcher
from .workers import AnalysisPool
from .workspace import OpenDoc, Workspace

if TYPE_CHECKING:
    from .cache.redis import RedisTier

log = logging.getLogger(__name__)

DB_NAME = "cache.sqlite3"
MODEL_META = "model:{namespace}"
LAST_STATS_META = "stats:last"
SAVE_EVERY = 60.0  # seconds between background saves of changed models
WORKER_BOOT_DELAY = 1.0  # seconds after a workspace is indexed before the workers start
SYNC_MODEL_BYTES = 256 * 1024  # a larger stored model loads in the background (indexing)
# Background work (prefetch, index) starts a file only after the editor has been quiet this long
# (no event, no request): a burst of typing or of requests is not competing with it for the GIL.
QUIET_SECONDS = 0.05
# ... and this long after a keystroke (didChange): typing comes in bursts with gaps of about
# 100-250 ms between keys, which a prefetch started in a gap would make the next key wait on.
TYPING_QUIET_SECONDS = 0.3
# Files of the background index one worker job reads (one round trip for them all: a job per
# file cost the server 1-2 ms of CPU per file in hand-offs, pipes and wake-ups)
INDEX_BATCH = 8
# related / find_symbol wait this long at most for a workspace's index still being built
INDEX_WAIT = 2.0
FREEZE_EVERY = 10.0  # seconds between freezes of the long-lived heap (heap.freeze_long_lived)
# A workspace model's bound, in bytes of its JSON; its tables in memory take about 7 times that
# (measured on bench/long_session.py's walk), outside maxMemoryMB: 2 MB keeps it near 15 MB.
MODEL_BYTES = 2_000_000
CACHE_SOURCES = frozenset({"memory", "sqlite", "redis"})
# What clients are sent of a cached file and of a cached analysis (a record's body), with the
# value a missing field takes; everything else the engine stores beside them (the stat fields
# that validate an entry, resolved imports, the names a file uses for the reference graph) is
# the record's meta, never sent.
_FILE_FIELDS: dict[str, Any] = {"text": "", "hash": ""}
_ANALYSIS_FIELDS: dict[str, Any] = {
    "language": None,
    "lines": 0,
    "bytes": 0,
    "hash": "",
    "symbols": [],
    "imports": [],
    "metrics": {},
}


class RequestCounter:
    """How often a request kind was answered from a cache tier rather than disk or computation."""

    def __init__(self) -> None:
        self.count = 0
        self.hits = 0
        self._lock = threading.Lock()

    def record(self, source: str) -> None:
        with self._lock:
            self.count += 1
            if source in CACHE_SOURCES:
                self.hits += 1

    def snapshot(self) -> dict[str, Any]:
        misses = self.count - self.hits
        return {
            "count": self.count,
            "hits": self.hits,
            "misses": misses,
            "hitRatio": self.hits / self.count if self.count else 0.0,
        }


class Engine:
    def __init__(
        self, settings: Settings, cache_dir: Path, *, watch: bool = True, session_stats: bool = True
    ) -> None:
        """``session_stats``: leave this session's statistics for ``smartcache-ls stats`` at close
        (the editor's server; a standalone MCP engine must not replace the editor's)."""
        self.settings = settings
        self.session_stats = session_stats
        # a directory other users could read or write is refused for a private session dir
        cache_dir, self.cache_dir_refused = usable_cache_dir(cache_dir, (DB_NAME,), (LIVE_DIR,))
        self.cache_dir = cache_dir
        self.started = time.monotonic()
        self.workspaces: dict[str, Workspace] = {}
        self._ws_lock = threading.Lock()
        self._own_dir = Path(os.path.realpath(cache_dir))  # ignored inside a workspace
        self.sqlite = SqliteTier(
            cache_dir / DB_NAME,
            settings.max_disk_bytes,
            settings.ttl_seconds,
            memory_bytes=settings.max_memory_bytes,
        )
        self.memory = MemoryTier(settings.max_memory_bytes, settings.ttl_seconds)
        self.redis = _open_redis(settings)
        self.cache = TieredCache(self.memory, self.sqlite, self.redis)
        self.pool = AnalysisPool(settings.analysis_workers)
        self.pool.start(boot=False)  # threads now, processes after the index or at the first job
        self.prefetcher = Prefetcher(self._warm)
        self.prefetcher.start()
        self.index = IndexService(self)
        self._index_parallel()
        self.ledger = PrefetchLedger()
        self.watcher: Watcher | None = Watcher(self._on_changes) if watch else None
        self.requests = {"getFile": RequestCounter(), "getAnalysis": RequestCounter()}
        self.secrets = SecretPatterns(settings.secret_patterns)
        self._closed = False
        self._last_activity = self._last_edit = time.monotonic()
        self._stop = threading.Event()
        self._saver = threading.Thread(target=self._save_loop, name="smartcache-save", daemon=True)
        self._saver.start()
        gc_monitor.install()  # collector pauses, for stats

    # workspace folders -------------------------------------------------------
    def add_folder(self, uri: str, name: str | None = None) -> Workspace:
        """Start serving a workspace folder: load its model; watch and index it in the background."""
        root = resolve_path(uri_to_path(uri))
        if not root.is_dir():
            raise PathRefused("notFound", f"workspace folder {root} is not a directory")
        with self._ws_lock:
            for ws in self.workspaces.values():
                if ws.root == root:
                    return ws
        # our own cache directory, if it sits inside the workspace, is not the developer's
        ws = Workspace(
            uri, root, name or root.name, Predictor(), exclude=(self._own_dir,), secrets=self.secrets
        )
        ws.predictor = self._load_model(ws)
        ws.predictor.start_session()
        freeze_long_lived()
        with self._ws_lock:
            self.workspaces[uri] = ws
        threading.Thread(target=self._index, args=(ws,), name="smartcache-index", daemon=True).start()
        log.info("serving workspace %s (%s)", root, ws.namespace)
        return ws

    def remove_folder(self, uri: str) -> None:
        with self._ws_lock:
            ws = self.workspaces.pop(uri, None)
        if ws is None:
            return
        if self.watcher is not None:
            self.watcher.remove(ws.root)
        self.prefetcher.drop(ws.namespace)
        self.index.builder.drop(ws.namespace)
        self._save_model(ws)
        self.index.save(ws)

    def _index(self, ws: Workspace) -> None:
        """Background: watch the workspace, learn its files and its co-change history."""
        try:
            index_workspace(ws, self.watcher, lambda: not self._closed and self.workspaces.get(ws.uri) is ws)
            with ws.lock:
                files = list(ws.known_files)
            self.index.start_workspace(ws, files)  # the reference graph, in its own thread
        except Exception:
            log.exception("indexing %s failed", ws.root)
        self.pool.boot(after=WORKER_BOOT_DELAY)  # or at the first analysis, if that comes sooner

    def workspace_for(self, uri: str) -> tuple[Workspace, Path, str]:
        """The workspace holding ``uri``, the resolved path and the relative path; or PathRefused.

        The uri is taken as written first (the root as the editor named it); a uri through
        another alias of a root (a symlinked folder) or into another served folder is
        served by where its folder resolves to. Either way confine() checks the result."""
        self._last_activity = time.monotonic()  # every editor event and request comes here
        path = uri_to_path(uri)
        with self._ws_lock:
            candidates = list(self.workspaces.values())
        if not candidates:
            raise PathRefused("noWorkspace", "no workspace folder is open")
        refused = PathRefused("outsideWorkspace", f"{uri} is outside every workspace folder")
        literal = _owner(path, candidates, literal=True)
        if literal is not None:
            try:
                return self._confined(*literal)
            except PathRefused as exc:
                if exc.reason != "outsideWorkspace":
                    raise
                refused = exc
        # Its folder resolved, its own name kept (the name the editor knows it by).
        real = _owner(resolve_path(path.parent) / path.name, candidates, literal=False)
        if real is None or (literal is not None and real[0] is literal[0]):
            raise refused
        return self._confined(*real)

    @staticmethod
    def _confined(ws: Workspace, mapped: Path) -> tuple[Workspace, Path, str]:
        resolved, rel = confine_path(mapped, ws.root, ws.rules.secrets)
        return ws, resolved, rel

    def note_request(self) -> None:
        """A request from outside the editor (an MCP tool call) is being answered: background work
        (prefetch, index) waits for quiet after it, as after the editor's own requests."""
        self._last_activity = time.monotonic()

    # editor events -------------------------------------------------------------
    def did_open(self, uri: str, text: str, version: int) -> None:
        ws, _, rel = self._event_target(uri)
        if ws is None:
            return
        with ws.lock:
            ws.open_docs[rel] = OpenDoc(text, version)
        self._access(ws, rel)

    def did_focus(self, uri: str) -> None:
        ws, _, rel = self._event_target(uri)
        if ws is not None:
            self._access(ws, rel)

    def did_change(self, uri: str, text: str, version: int) -> None:
        self._last_edit = time.monotonic()
        ws, _, rel = self._event_target(uri)
        if ws is None:
            return
        with ws.lock:
            before = ws.open_docs.get(rel)
            ws.open_docs[rel] = OpenDoc(text, version, modified=True)
        if before is None or not before.modified:
            # Only the first change of a burst: keystrokes must not each touch the cache.
            self._note_edit(ws, rel)

    def did_save(self, uri: str, text: str | None) -> None:
        ws, _, rel = self._event_target(uri)
        if ws is None:
            return
        with ws.lock:
            doc = ws.open_docs.get(rel)
            if doc is not None:
                ws.open_docs[rel] = OpenDoc(text if text is not None else doc.text, doc.version)
        self._note_edit(ws, rel)
        self.index.changed(ws, [rel])

    def did_close(self, uri: str) -> None:
        ws, _, rel = self._event_target(uri)
        if ws is None:
            return
        with ws.lock:
            ws.open_docs.pop(rel, None)

    def _event_target(self, uri: str) -> tuple[Workspace | None, Path | None, str]:
        try:
            return self.workspace_for(uri)
        except PathRefused as exc:
            log.debug("ignoring event for %s: %s", uri, exc.message)
            return None, None, ""

    def _note_edit(self, ws: Workspace, rel: str) -> None:
        """The file changed (in the editor or by a save): drop its cached entries, teach the predictor."""
        self.cache.invalidate(ws.file_key(rel))
        self.cache.invalidate(ws.analysis_key(rel))
        with ws.lock:
            ws.predictor.observe(rel, time.time(), "edit")
            ws.dirty = True

    def _access(self, ws: Workspace, rel: str) -> None:
        """A file became the developer's focus: learn, predict, and queue the prefetch."""
        with ws.lock:
            if ws.last_access == rel:
                return
            ws.last_access = rel
            ws.add_file(rel)
            # a first visit in the session, after a switch (the session's first file is no switch)
            first = not ws.predictor.in_session(rel) and bool(ws.predictor.recent(1))
            ws.predictor.observe(rel, time.time(), "open")
            ws.planner.observe(rel)
            ws.dirty = True
        self.ledger.visit(ws.namespace, rel, first=first, warm=ws.analysis_key(rel) in self.memory)
        if self.settings.prefetch.enabled:  # planned on the prefetcher's thread, not the event loop
            self.prefetcher.submit([Job(ws.namespace, rel, reason=PLAN)], supersede=True)

    def _prefetch_next(self, ws: Workspace, rel: str, replan: bool = False) -> None:
        """Plan the prefetch for a switch to ``rel`` (see prefetch_plan), superseding older
        planned work. ``replan``: the same switch again, now that more structure is known."""
        prefetch = self.settings.prefetch
        if not prefetch.enabled:
            return

        def warm(c: str) -> bool:
            return c in ws.open_docs or (ws.file_key(c) in self.memory and ws.analysis_key(c) in self.memory)

        def cost(c: str) -> int | None:
            if c not in ws.known_files or ws.rules.secrets.matches(c):
                return None
            state = ws.graph.state(c)
            return state[1] if state is not None and state[1] >= 0 else UNKNOWN_COST

        with ws.lock:
            ws.graph.settle(QUERY_SETTLE_SECONDS)  # (the planner's thread, not the event loop)
            ranked = (
                ws.predictor.predict(prefetch.top_k, current=rel, explain=False) if prefetch.top_k else []
            )
            recent = [rel, *(f for f in ws.predictor.recent(RECENT + 1) if f != rel)][: RECENT + 1]
            neighbours = []
            for age, f in enumerate(recent):
                neighbours.append((age, "refs", [e.target for e in ws.graph.refs(f)]))
                neighbours.append((age, "usedBy", [e.target for e in ws.graph.referrers(f)]))
            plan = ws.planner.plan(
                [(p.path, p.probability) for p in ranked],
                neighbours,
                warm=warm,
                cost=cost,
                max_files=prefetch.max_files,
                max_bytes=prefetch.max_kb * 1024,
                threshold=prefetch.threshold,
                learn=not replan,
            )
        self.ledger.planned(ws.namespace, [c.rel for c in plan], new_switch=not replan)
        self.prefetcher.submit([Job(ws.namespace, c.rel, reason=c.source) for c in plan], supersede=True)

    # requests --------------------------------------------------------------------
    # getFile and getAnalysis answer with the reply's JSON bytes: the cached body with ``uri`` and
    # ``source`` spliced in front, never decoded or re-encoded (protocol.decoded gives the dict).
    # Prefetch holds back while they run (Prefetcher.yielding).
    def get_file(self, uri: str) -> RawJSON:
        """``{"uri", "source", "text", "hash"}`` of a file."""
        with self.prefetcher.yielding():
            ws, path, rel = self.workspace_for(uri)
            with ws.lock:
                doc = ws.open_docs.get(rel)
            if doc is not None:
                source = "memory"
                data = encode_json({"uri": uri, "text": doc.text, "hash": doc.hash, "source": source})
            else:
                record, source = self._file_record(ws, path, rel)
                data = record.splice({"uri": uri, "source": source})
        self.requests["getFile"].record(source)
        return RawJSON(data)

    def get_analysis(self, uri: str) -> RawJSON:
        """``{"uri", "source", "language", "lines", "bytes", "hash", "symbols", "imports", "metrics"}``."""
        with self.prefetcher.yielding():
            ws, path, rel = self.workspace_for(uri)
            record, source = self._analysis_record(ws, path, rel)
        self.requests["getAnalysis"].record(source)
        return RawJSON(record.splice({"uri": uri, "source": source}))

    def predict(self, uri: str | None, k: int) -> list[PredictionItem]:
        if uri is None:
            ws = self._last_workspace()
            if ws is None:
                return []
            current = ws.last_access
        else:
            ws, _, current = self.workspace_for(uri)
        with ws.lock:
            ranked = ws.predictor.predict(k, current=current)
        return [
            PredictionItem(
                uri=path_to_uri(ws.root / p.path), probability=round(p.probability, 6), reason=p.reason
            )
            for p in ranked
            if not ws.rules.secrets.matches(p.path)
        ]

    def prefetch(self, uris: list[str]) -> int:
        """Queue explicit warm-ups. Every uri is checked first; one bad uri refuses them all."""
        jobs = []
        for uri in uris:
            ws, _, rel = self.workspace_for(uri)
            jobs.append(Job(ws.namespace, rel, sticky=True, reason="requested"))
        return self.prefetcher.submit(jobs)

    def related(self, uri: str, k: int = 10) -> dict[str, Any]:
        """The workspace files ``uri`` refers to and those referring to it, heaviest first."""
        ws, path, rel = self.workspace_for(uri)
        self.index.wait_ready(ws, INDEX_WAIT)
        with ws.lock:
            known = rel in ws.graph.entries
        if not known:  # not indexed yet (or not a file the index reads): analyse it now
            self._analysis_record(ws, path, rel)  # (the graph learns from its meta)
        return self.index.related(ws, rel, k)

    def find_symbol(self, name: str, kind: str | None = None, k: int = 10) -> list[dict[str, Any]]:
        """Where ``name`` is defined (top-level symbols and nested types), in every workspace."""
        with self._ws_lock:
            spaces = list(self.workspaces.values())
        deadline = time.monotonic() + INDEX_WAIT
        for ws in spaces:
            self.index.wait_ready(ws, max(0.0, deadline - time.monotonic()))
        return self.index.find_symbol(spaces, name, kind, k)

    def clear(self, scope: str) -> None:
        self.cache.clear(scope)

    def background_analysis(self, uri: str) -> dict[str, Any]:
        """An analysis wanted for a summary of a predicted file, not by the developer: loaded like a
        prefetch (no request counted, no demand statistics; a load counts as a prefetch issued, used
        if the developer opens the file next), checked fresh like any other."""
        ws, path, rel = self.workspace_for(uri)
        return self._analysis(ws, path, rel, prefetch=True)[0]

    def folders(self) -> list[Workspace]:
        """The workspace folders served now."""
        with self._ws_lock:
            return list(self.workspaces.values())

    def _last_workspace(self) -> Workspace | None:
        with self._ws_lock:
            spaces = list(self.workspaces.values())
        active = [ws for ws in spaces if ws.last_access is not None]
        return active[-1] if active else (spaces[0] if spaces else None)

    # loading -----------------------------------------------------------------------
    def _file(self, ws: Workspace, path: Path, rel: str, prefetch: bool = False) -> tuple[str, str, str]:
        """(text, hash, source) of a file: the editor's buffer, a fresh cached copy, or disk."""
        with ws.lock:
            doc = ws.open_docs.get(rel)
        if doc is not None:
            return doc.text, doc.hash, "memory"
        record, source = self._file_record(ws, path, rel, prefetch)
        body = record.body()
        return str(body["text"]), str(body["hash"]), source

    def _file_record(
        self, ws: Workspace, path: Path, rel: str, prefetch: bool = False
    ) -> tuple[Record, str]:
        """The cached record of a file on disk (fresh by its stat fields), loading it on a miss."""
        st = check_regular_file(path, self.settings.max_file_bytes)
        key = ws.file_key(rel)

        def load() -> tuple[bytes, str]:
            return _encode_split(self._read(ws, path), _FILE_FIELDS), "disk"

        data, source = self.cache.get_or_load(key, load, prefetch=prefetch)
        checked = _checked(data, None, st)
        if checked is None:
            self.cache.invalidate(key)
            self.cache.invalidate(ws.analysis_key(rel))
            data, source = self.cache.get_or_load(key, load, prefetch=prefetch)
            checked = _checked(data, None, None)
            if checked is None:
                raise RecordError(f"the cache holds no readable entry for {rel}")
        return checked[0], source

    def _read(self, ws: Workspace, path: Path) -> dict[str, Any]:
        """The file's text from one checked open (a regular file inside the workspace, bounded)."""
        data, st = read_checked(path, ws.root, self.settings.max_file_bytes)
        text = decode_text(path, data)
        return {"text": text, "hash": content_hash(text), "mtime_ns": st.st_mtime_ns, "size": st.st_size}

    def _analysis(
        self, ws: Workspace, path: Path, rel: str, prefetch: bool = False
    ) -> tuple[dict[str, Any], str]:
        """(the analysis as clients see it, decoded; source): for Python callers."""
        record, source = self._analysis_record(ws, path, rel, prefetch)
        return record.body(), source

    def _analysis_record(
        self, ws: Workspace, path: Path, rel: str, prefetch: bool = False
    ) -> tuple[Record, str]:
        """The cached record of a file's analysis (fresh for the editor's buffer or the file on
        disk), computing it on a miss; teaches the workspace the file's resolved imports."""
        key = ws.analysis_key(rel)
        with ws.lock:
            doc = ws.open_docs.get(rel)
        st = None if doc is not None else check_regular_file(path, self.settings.max_file_bytes)

        def load() -> tuple[bytes, str]:
            if doc is None and not self._sharing():
                return self._worker_record(ws, path, rel, prefetch), "computed"
            text, digest, _ = self._file(ws, path, rel, prefetch=prefetch)
            value, source = self._shared_analysis(rel, text, digest, prefetch=prefetch)
            value["resolvedImports"] = self._resolved(ws, rel, list(value.get("imports", [])))
            if doc is None and st is not None:
                value["mtime_ns"], value["size"] = st.st_mtime_ns, st.st_size
            return _encode_split(value, _ANALYSIS_FIELDS), source

        data, source = self.cache.get_or_load(key, load, prefetch=prefetch)
        checked = _checked(data, doc.hash if doc is not None else None, st)
        if checked is None:
            self.cache.invalidate(key)
            data, source = self.cache.get_or_load(key, load, prefetch=prefetch)
            checked = _checked(data, None, None)
            if checked is None:
                raise RecordError(f"the cache holds no readable analysis of {rel}")
        record, meta = checked
        with ws.lock:
            state = ws.graph.state(rel)
        # the graph knows this state of the file: the meta (names, hash) is all learn() reads then
        known = state is not None and state[2] == meta.get("hash")
        # a worker's meta carries what the graph reads (names, imports, definitions): no decode
        whole = known or "definitions" in meta
        indexed = self.index.learn(ws, rel, meta if whole else {**record.body(), **meta}, st)
        imports = meta.get("resolvedImports")
        imports = [str(i) for i in imports] if isinstance(imports, list) else []
        with ws.lock:
            learnt = imports != ws.imports_of(rel) and not indexed
            ws.set_imports(rel, imports)
            current = ws.last_access == rel
        if learnt and current and not prefetch and self.settings.prefetch.enabled:
            # The file in focus revealed its imports: plan again with that structure known, on
            # the prefetcher's thread after this answer (planning held a request 2.5 ms), ahead
            # of the switch's first plan's files, which it supersedes.
            self.prefetcher.submit([Job(ws.namespace, rel, reason=REPLAN)], first=True)
        return record, source

    def _worker_record(self, ws: Workspace, path: Path, rel: str, prefetch: bool) -> bytes:
        """A worker reads and analyses the file; the record is its analysis JSON as the worker
        wrote it (the body, never decoded here) and a small meta. The file's text is cached on
        the way, as a read would have."""
        limit = self.settings.max_file_bytes
        done = self.pool.analyze(
            rel, path=path, root=ws.root, max_bytes=limit, want_data=True, prefetch=prefetch
        )
        if prefetch:  # taking the result up holds the GIL: after requests, unless one waits for it
            analysis_key = ws.analysis_key(rel)
            self.prefetcher.wait_quiet(until=lambda: self.cache.waiting(analysis_key) > 0)
        stat = {"mtime_ns": done.mtime_ns, "size": done.size}
        key = ws.file_key(rel)
        if done.data is not None and key not in self.memory:  # (a stale copy fails its check later)
            read = {"text": done.data.decode("utf-8"), "hash": done.hash, **stat}
            self.cache.put(key, _encode_split(read, _FILE_FIELDS), prefetched=prefetch)
        meta = {
            **stat,
            "resolvedImports": self._resolved(ws, rel, done.imports),
            "hash": done.hash,
            "names": done.names,
            "imports": done.imports,
            "definitions": done.definitions,
        }
        # analyze() gives the fields clients are sent, in _ANALYSIS_FIELDS' order: the body as is
        return pack(encode_json(meta), done.analysis)

    def _resolved(self, ws: Workspace, rel: str, imports: list[str]) -> list[str]:
        """The workspace files ``imports`` name, resolved in memory (no stat per candidate)."""
        from .analysis import resolve_imports

        files = ws.known_files
        return resolve_imports(ws.root, rel, imports, files.__contains__, files.names_in)

    def _sharing(self) -> bool:
        return self.redis is not None and self.settings.share_analyses

    def _shared_analysis(
        self, rel: str, text: str, digest: str, *, prefetch: bool = False
    ) -> tuple[dict[str, Any], str]:
        """Analyse ``text``, or take a teammate's analysis of the same content from Redis."""
        from .analysis import language_for

        redis = self.redis if self.settings.share_analyses else None
        language = language_for(rel)
        # The same text under another extension is analysed as another language.
        key = f"{digest}.{language or 'text'}"
        if redis is not None:
            shared = fetch_verified(redis, key, rel, text, language)  # anyone could have put it there
            if shared is not None:
                return shared, "redis"
        done = self.pool.analyze(rel, text=text, prefetch=prefetch)
        value: dict[str, Any] = orjson.loads(done.analysis)
        value["names"] = done.names  # (the worker sends them beside the analysis)
        if redis is not None:
            redis.set_shared(key, value)
        return value, "computed"

    def _warm(self, job: Job) -> None:
        """Prefetcher thread: load a file and its analysis into the cache."""
        ws = self._by_namespace(job.owner)
        if ws is None:
            return
        self.wait_quiet()
        if job.reason in PLANS:
            with ws.lock:
                current = ws.last_access == job.rel
            if current:  # (a later switch has its own plan queued)
                self._prefetch_next(ws, job.rel, replan=job.reason == REPLAN)
            return
        try:
            path, rel = confine(path_to_uri(ws.root / job.rel), ws.root, ws.rules.secrets)
        except PathRefused:
            return
        start, before = time.thread_time(), ws.analysis_key(rel) in self.memory
        # The record only: its body stays encoded (decoding a 300 KB file's 600 KB analysis
        # held the GIL 4.7 ms in one call, to read one number of it).
        self._analysis_record(ws, path, rel, prefetch=True)
        cpu = time.thread_time() - start
        self.ledger.warmed(ws.namespace, rel, _source_bytes(ws, path, rel), cpu, computed=not before)

    def wait_quiet(self) -> None:
        """Background threads: return once the editor has been quiet for QUIET_SECONDS (and
        TYPING_QUIET_SECONDS since the last keystroke)."""
        while not self._closed:
            quiet_at = max(self._last_activity + QUIET_SECONDS, self._last_edit + TYPING_QUIET_SECONDS)
            wait = quiet_at - time.monotonic()
            if wait <= 0:
                return
            time.sleep(wait)

    def _by_namespace(self, namespace: object) -> Workspace | None:
        with self._ws_lock:
            for ws in self.workspaces.values():
                if ws.namespace == namespace:
                    return ws
        return None

    # watcher --------------------------------------------------------------------------
    def _on_changes(self, batch: ChangeBatch) -> None:
        """Watcher thread: files changed on disk behind the editor's back."""
        ws = next((w for w in list(self.workspaces.values()) if w.root == batch.root), None)
        if ws is None:
            return
        refresh: list[Job] = []
        for rel, kind in batch.changes.items():
            hot = self.cache.is_hot(ws.analysis_key(rel))
            self.cache.invalidate(ws.file_key(rel))
            self.cache.invalidate(ws.analysis_key(rel))
            with ws.lock:
                if kind == DELETED:
                    ws.drop_file(rel)
                elif kind == CREATED:
                    ws.add_file(rel)
            if hot and kind != DELETED:
                refresh.append(Job(ws.namespace, rel, sticky=True, reason="refresh"))
        with ws.lock:
            for old, new in batch.renames:
                ws.predictor.rename(old, new)
            for rel, kind in batch.changes.items():
                if kind == DELETED and not any(old == rel for old, _ in batch.renames):
                    ws.predictor.forget(rel)
        if refresh:
            self.prefetcher.submit(refresh)
        self.index.changed(ws, batch.changes)

    # settings, stats, lifecycle ---------------------------------------------------------
    def apply_settings(self, settings: Settings) -> None:
        """Apply changed settings; the Redis and SQLite connections are set up at start only."""
        if (settings.redis_url, settings.cache_dir) != (self.settings.redis_url, self.settings.cache_dir):
            log.warning("redisUrl and cacheDir changes take effect when the server restarts")
        if settings.analysis_workers != self.settings.analysis_workers:
            log.warning("analysisWorkers changes take effect when the server restarts")
        self.settings = settings
        self._index_parallel()
        self.memory.resize(settings.max_memory_bytes)
        if settings.secret_patterns != self.secrets.patterns:
            self._apply_secrets(SecretPatterns(settings.secret_patterns))

    def _index_parallel(self) -> None:
        """The index at full pool speed: two lanes for each worker that runs index jobs (one
        job it works on, one queued, so that it never waits for the server to take its answer
        in and send the next), each lane ``INDEX_BATCH`` files at a time; one file at a time
        with shared analyses (each file's analysis is looked up in Redis and shared there:
        concurrent look-ups of one content would each verify it), or with no workers (the
        analysis runs on the builder's own thread)."""
        alone = self._sharing() or self.pool.size == 0
        self.index.builder.parallel = 1 if alone else 2 * self.pool.background_slots()
        self.index.builder.batch = 1 if alone else INDEX_BATCH

    def _apply_secrets(self, secrets: SecretPatterns) -> None:
        """New secret patterns: every workspace forgets the files they now cover (index, model,
        open buffers, cache entries). Files no longer covered are indexed when next seen."""
        self.secrets = secrets
        with self._ws_lock:
            spaces = list(self.workspaces.values())
        for ws in spaces:
            with ws.lock:
                ws.rules.secrets = secrets
                covered = [r for r in {*ws.known_files, *ws.open_docs} if secrets.matches(r)]
                for rel in covered:
                    ws.drop_file(rel)
                    ws.open_docs.pop(rel, None)
                    ws.predictor.forget(rel)
                    if ws.last_access == rel:
                        ws.last_access = None
            for rel in covered:  # queued prefetches of them are refused by confine() when run
                self.cache.invalidate(ws.file_key(rel))
                self.cache.invalidate(ws.analysis_key(rel))

    def stats(self) -> dict[str, Any]:
        cache = self.cache.stats()
        prefetch = dict(cache.get("prefetch", {}))
        prefetch.update(self.prefetcher.stats())
        prefetch.update(self.ledger.snapshot())
        with self._ws_lock:
            spaces = list(self.workspaces.values())
        predictor: dict[str, Any] = {"files": 0, "transitions": 0, "bytes": 0}
        for ws in spaces:
            with ws.lock:
                for name, value in ws.predictor.stats().items():
                    if isinstance(value, int | float) and name in predictor:
                        predictor[name] += value
        return {
            "version": __version__,
            "uptimeSeconds": round(time.monotonic() - self.started, 3),
            "cacheDir": str(self.cache_dir),
            **({"cacheDirRefused": self.cache_dir_refused} if self.cache_dir_refused else {}),
            "workspaces": [
                {"uri": ws.uri, "name": ws.name, "index": ws.progress.snapshot()} for ws in spaces
            ],
            "tiers": cache.get("tiers", {}),
            "loads": cache.get("loads", {}),
            "writes": cache.get("writes", {}),
            "prefetch": prefetch,
            "requests": {name: counter.snapshot() for name, counter in self.requests.items()},
            "predictor": predictor,
            "graph": self.index.stats(spaces),  # the reference graph (index/): files, edges, builder
            "gc": gc_monitor.snapshot(),
            "process": process_memory(),
            "workers": self.pool.stats(),
        }

    def _load_model(self, ws: Workspace) -> Predictor:
        """The stored model; for a large one, a stand-in while indexing loads it (off the handler)."""
        size = self.sqlite.meta_size(MODEL_META.format(namespace=ws.namespace))
        if size is not None and size > SYNC_MODEL_BYTES:
            ws.progress.deferred_model = lambda: self._read_model(ws)
            return StandIn(structure=ws)
        return self._read_model(ws)

    def _read_model(self, ws: Workspace) -> Predictor:
        raw = self.sqlite.get_meta(MODEL_META.format(namespace=ws.namespace))
        if raw is None:
            return Predictor(max_bytes=MODEL_BYTES, structure=ws)
        try:
            return Predictor.from_json(raw, max_bytes=MODEL_BYTES, structure=ws)
        except ModelFormatError as exc:
            log.warning("stored model for %s set aside and rebuilt: %s", ws.root, exc)
            return Predictor(max_bytes=MODEL_BYTES, structure=ws)

    def _save_model(self, ws: Workspace) -> None:
        """Persist a changed model, holding the workspace's lock one slice at a time."""
        with ws.lock:
            if not ws.dirty or ws.progress.deferred_model is not None:  # (the stored one not loaded)
                return
            ws.dirty = False  # changes made while this runs leave it dirty for the next save
            steps = ws.predictor.json_steps()
        while True:
            with ws.lock:
                try:
                    next(steps)
                except StopIteration as done:
                    data: dict[str, Any] = done.value
                    break
        self.sqlite.set_meta(MODEL_META.format(namespace=ws.namespace), data)

    def save(self) -> None:
        """Persist every model and flush queued cache writes to SQLite."""
        with self._ws_lock:
            spaces = list(self.workspaces.values())
        for ws in spaces:
            self._save_model(ws)
            self.index.save(ws)
        self.cache.flush()

    def _save_loop(self) -> None:
        """Background: persist changed models now and then, so a crash loses little; freeze
        what the heap grew (models, cache entries) more often than that, so that a full
        collection only walks the last few seconds' objects."""
        last_save = time.monotonic()
        while not self._stop.wait(FREEZE_EVERY):
            if time.monotonic() - last_save >= SAVE_EVERY:
                last_save = time.monotonic()
                try:
                    self.save()
                except Exception:
                    log.exception("saving the models failed")
            freeze_long_lived()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._saver.join(timeout=5)
        if self.watcher is not None:
            self.watcher.stop()
        self.prefetcher.stop()
        self.index.stop()
        self.pool.close()
        self.save()
        try:
            if self.session_stats:
                self.sqlite.set_meta(LAST_STATS_META, mask_value(self.stats()))  # for `smartcache-ls stats`
        except Exception:
            log.exception("saving the session's statistics failed")
        self.cache.close()
        if self.cache_dir_refused:  # a session directory of ours
            import shutil  # (only here: its import costs start-up time)

            shutil.rmtree(self.cache_dir, ignore_errors=True)


def _open_redis(settings: Settings) -> RedisTier | None:
    """The Redis tier when ``redisUrl`` is set; None (and a log line) when it cannot be had."""
    if not settings.redis_url:
        return None
    try:
        from .cache.redis import RedisTier, make_namespace  # only when Redis is configured

        return RedisTier(
            settings.redis_url,
            namespace=make_namespace("smartcache-ls"),
            ttl=settings.ttl_seconds,
            share_analyses=settings.share_analyses,
        )
    except Exception as exc:  # the optional package missing, or a malformed URL
        log.warning("Redis tier disabled: %s", exc)
        return None


def _owner(path: Path, spaces: list[Workspace], *, literal: bool) -> tuple[Workspace, Path] | None:
    """The deepest workspace whose root (or, if ``literal``, the root as its uri names it)
    holds ``path``, and ``path`` moved under its resolved root."""
    best: tuple[Workspace, Path] | None = None
    depth = -1
    text = str(path)  # normalised, like the roots: "under a root" is a prefix test on strings
    for ws in spaces:
        for root in (ws.root, ws.literal_root) if literal else (ws.root,):
            under = text == str(root) or text.startswith(str(root).rstrip("/") + "/")
            if under and len(root.parts) > depth:
                mapped = path if root is ws.root else ws.root / path.relative_to(root)
                best, depth = (ws, mapped), len(root.parts)
    return best


def _source_bytes(ws: Workspace, path: Path, rel: str) -> int:
    """Bytes of a file's source as analysed: the editor's buffer, else the file on disk."""
    with ws.lock:
        doc = ws.open_docs.get(rel)
    if doc is not None:
        return len(doc.text.encode("utf-8", "surrogatepass"))
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _encode_split(value: dict[str, Any], fields: dict[str, Any]) -> bytes:
    """A value as a record: ``fields`` (what clients are sent, in that order) as the body, every
    other field as the meta. The hash goes to the meta too: it validates against open buffers."""
    body = {name: value.get(name, default) for name, default in fields.items()}
    meta = {k: v for k, v in value.items() if k not in fields}
    if "hash" in value:
        meta["hash"] = value["hash"]
    return encode_record(meta, body)


def _checked(
    data: bytes, digest: str | None, st: os.stat_result | None
) -> tuple[Record, dict[str, Any]] | None:
    """(record, its meta) if ``data`` is a record that matches the content hash ``digest`` (the
    editor's buffer) or the stat fields ``st`` (the file on disk), whichever is given; else None
    (stale, or not a record: an older cache's entry, a damaged row)."""
    try:
        record = Record(data)
        meta = record.meta()
    except RecordError:
        return None
    if digest is not None and meta.get("hash") != digest:
        return None
    if st is not None and (meta.get("mtime_ns") != st.st_mtime_ns or meta.get("size") != st.st_size):
        return None
    return record, meta
