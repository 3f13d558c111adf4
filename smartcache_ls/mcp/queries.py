"""What the MCP tools ask of an engine, answered with workspace-relative plain JSON.

The same functions run in the editor's LSP process (behind the live endpoint,
so the answer reflects the editor's buffers and focus) and in a standalone
``smartcache-ls mcp`` (its own engine on the cache dir). Budgets and formatting
are the tools' business (:mod:`.tools`); this module only reads the engine.

Paths in and out are relative to the workspace root. Every path goes through
``Engine.workspace_for`` (``..`` and symlinks resolved, confined to the folder,
refusals such as secrets raised as :class:`PathRefused`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import orjson

from ..engine import Engine
from ..paths import PathRefused, path_to_uri, relative_to_root, uri_to_path
from ..protocol import RawJSON
from ..workspace import Workspace
from . import summaries
from .cache import BytesCache

CACHED_RESHAPES = 32  # outlines kept already reshaped, per process (keys hold analysis bytes)


_outlines = BytesCache(CACHED_RESHAPES)
_by_state = BytesCache(CACHED_RESHAPES)  # outlines served from memory, under the file state read


class BadArgument(ValueError):
    """An argument no tool accepts (the MCP SDK checks types; this checks meaning)."""


def workspace_of(engine: Engine, root: Path) -> Workspace:
    for ws in engine.folders():
        if ws.root == root:
            return ws
    raise PathRefused("noWorkspace", f"the workspace {root} is not served by this session")


def target(engine: Engine, root: Path, path: object) -> tuple[Workspace, str, str]:
    """(workspace, uri, relative path) of a tool's ``path`` argument; or BadArgument, PathRefused.

    Only the form is checked here: the engine call the uri goes to confines it (symlinks
    resolved, the folder's bounds, secrets), once per call.
    """
    if not isinstance(path, str) or not path.strip():
        raise BadArgument("path must be a non-empty workspace-relative path, e.g. 'src/main.py'")
    if "\x00" in path:
        raise BadArgument("path must not contain NUL characters")
    if path.startswith(("/", "~", "file:")):
        raise BadArgument(f"path must be relative to the workspace root, got {path!r}")
    rel = posixpath.normpath(path)
    if rel == ".." or rel.startswith("../"):
        raise PathRefused("outsideWorkspace", f"{path!r} leaves the workspace")
    if rel == ".":
        raise PathRefused("isDirectory", "the path names the workspace folder itself")
    ws = workspace_of(engine, root)
    return ws, path_to_uri(ws.root / rel), rel


def relative(root: Path, uri: str) -> str:
    """A uri the engine returned, as a path relative to ``root`` (absolute if outside, never expected)."""
    path = uri_to_path(uri)
    return relative_to_root(path, root) or str(path)


def plain_result(value: Any) -> Any:
    """An engine result (attrs object, pre-encoded RawJSON or plain data) as plain JSON data."""
    if isinstance(value, RawJSON):
        return orjson.loads(value.data)
    if attrs.has(type(value)):
        # One level: the fields read here are one-word names, and their values (symbol trees
        # included) are plain data already; a deep to_wire walk of an outline cost ~1 ms.
        return attrs.asdict(value, recurse=False)
    return value


def working_set(engine: Engine, root: Path, k: int) -> dict[str, Any]:
    ws = workspace_of(engine, root)
    with ws.lock:
        current = ws.last_access
        open_docs = [{"path": rel, "unsaved": doc.modified} for rel, doc in sorted(ws.open_docs.items())]
        ranked = ws.predictor.predict(k, current=current)
    files: list[dict[str, Any]] = []
    if current is not None:
        files.append(
            {"path": current, "role": "current", "probability": 1.0, "reasons": ["the file in focus"]}
        )
    for p in ranked:
        if p.path == current:
            continue
        reasons = [r.strip() for r in p.reason.split(";") if r.strip()] if p.reason else []
        files.append(
            {"path": p.path, "role": "predicted", "probability": round(p.probability, 4), "reasons": reasons}
        )
    walk = summaries.Walk(ws.root)  # the directories on the way checked once for all the files
    for item in files:
        item["summary"] = summaries.file_summary(engine, ws, item["path"], walk)
    # the tool's own order (session, current, files, open, truncated): an answer that fits its
    # budget is passed on as these bytes (tools.working_set_text)
    return {"current": current, "files": files, "open": open_docs}


def outline(engine: Engine, root: Path, path: object) -> RawJSON:
    """The outline as encoded JSON: built once per analysis bytes (which hold the uri, the
    source and the content hash), then handed on as the same bytes.

    A warm outline is also kept under the file state it was read in (:func:`summaries.quick_state`:
    the buffer's hash, or the file's stat fields): a later call finding that state takes it
    (``source``: memory) without the engine's path resolution and record checks."""
    ws, uri, rel = target(engine, root, path)
    state = summaries.quick_state(engine, ws, rel, summaries.Walk(ws.root))
    if state is not None:
        warm: bytes | None = _by_state.get(state)
        if warm is not None:
            engine.requests["getAnalysis"].record("memory")
            return RawJSON(warm)
    analysis = engine.get_analysis(uri)
    data = analysis.data if isinstance(analysis, RawJSON) else orjson.dumps(plain_result(analysis))
    built: tuple[bytes, str, str] | None = _outlines.built_from(rel, data)
    if built is None:
        value = orjson.loads(data)
        digest, source = str(value.get("hash", "")), str(value.get("source", ""))
        built = (orjson.dumps(_outline_of(rel, value, source)), digest, source)
        _outlines.put_built(rel, data, built)
    cached, digest, source = built
    if state is not None and source == "memory" and _read_in(engine, ws, rel, state, digest):
        _by_state.put(state, cached)
    return RawJSON(cached)


def _outline_of(rel: str, value: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "path": rel,
        "language": value.get("language"),
        "lines": value.get("lines", 0),
        "hash": value.get("hash", ""),
        "source": source,
        "imports": value.get("imports", []),
        "symbols": value.get("symbols", []),
    }


def _read_in(engine: Engine, ws: Workspace, rel: str, state: tuple[Any, ...], digest: str) -> bool:
    """Whether the analysis just served was of ``state``: the file's state is the same after the
    read as before it, and for an editor buffer the analysis's content hash is the buffer's."""
    if len(state) == 2 and state[1] != digest:
        return False
    return summaries.quick_state(engine, ws, rel, summaries.Walk(ws.root)) == state


def read_file(engine: Engine, root: Path, path: object) -> dict[str, Any]:
    ws, uri, rel = target(engine, root, path)
    value = plain_result(engine.get_file(uri))  # an open buffer wins there, after the path's checks
    with ws.lock:
        doc = ws.open_docs.get(rel)
    in_editor = doc is not None and doc.hash == value["hash"]
    return {
        "path": rel,
        "text": value["text"],
        "hash": value["hash"],
        "source": "editor" if in_editor else value["source"],
        "unsaved": bool(in_editor and doc is not None and doc.modified),
    }


def related(engine: Engine, root: Path, path: object, k: int) -> dict[str, Any]:
    ws, uri, rel = target(engine, root, path)
    value = plain_result(engine.related(uri, k))

    def edges(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"path": relative(ws.root, e["uri"]), "weight": e.get("weight", 1.0), "names": e.get("names", [])}
            for e in items
        ]

    return {"path": rel, "uses": edges(value.get("uses", [])), "usedBy": edges(value.get("usedBy", []))}


def find_symbol(engine: Engine, root: Path, name: object, kind: object, k: int) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise BadArgument("name must be a non-empty symbol name, e.g. 'Engine'")
    if kind is not None and not isinstance(kind, str):
        raise BadArgument("kind must be a string such as 'class' or 'function'")
    ws = workspace_of(engine, root)
    found = plain_result(engine.find_symbol(name, kind, k))
    matches = [
        {
            "name": m["name"],
            "kind": m.get("kind"),
            "path": relative(ws.root, m["uri"]),
            "range": m.get("range"),
        }
        for m in found
        if relative_to_root(uri_to_path(m["uri"]), ws.root) is not None
    ]
    return {"name": name, "kind": kind, "matches": matches}


def stats(engine: Engine, root: Path) -> dict[str, Any]:
    ws = workspace_of(engine, root)
    full = plain_result(engine.stats())
    with ws.lock:
        open_docs = len(ws.open_docs)
        unsaved = sum(1 for doc in ws.open_docs.values() if doc.modified)
        known = len(ws.known_files)
    tiers = {
        name: {k: tier.get(k) for k in ("hits", "misses", "hitRatio", "entries", "bytes") if k in tier}
        for name, tier in full.get("tiers", {}).items()
    }
    return {
        "version": full.get("version"),
        "uptimeSeconds": full.get("uptimeSeconds"),
        "tiers": tiers,
        "requests": full.get("requests", {}),
        "prefetch": full.get("prefetch", {}),
        "workspace": {"files": known, "openBuffers": open_docs, "unsavedBuffers": unsaved},
        "watching": engine.watcher is not None,
    }


def _int(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        raise BadArgument(f"{name} must be an integer from 1 to 100")
    return value


# The live endpoint's methods: name -> (engine, root, params) -> result.
METHODS: dict[str, Callable[[Engine, Path, dict[str, Any]], Any]] = {
    "working_set": lambda e, r, p: working_set(e, r, _int(p, "k", 5)),
    "outline": lambda e, r, p: outline(e, r, p.get("path")),
    "read_file": lambda e, r, p: read_file(e, r, p.get("path")),
    "related": lambda e, r, p: related(e, r, p.get("path"), _int(p, "k", 10)),
    "find_symbol": lambda e, r, p: find_symbol(e, r, p.get("name"), p.get("kind"), _int(p, "k", 10)),
    "stats": lambda e, r, p: stats(e, r),
}
