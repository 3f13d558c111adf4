"""The workers' index job (analysis/graph_fields.py) builds the same reference graph as the
analysis job it replaces in the background index, on real files: this repository's sources,
the C sources of the interpreter's site-packages and the shared Java workspaces (when present)."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from smartcache_ls.analysis import language_for, resolve_imports
from smartcache_ls.analysis.names import PAIRED
from smartcache_ls.index.graph import FileEntry, RefGraph, entry_from_analysis
from smartcache_ls.workers import _answer, _result

ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 2 << 20
PURELIB = Path(sysconfig.get_paths()["purelib"])


def _shared() -> list[Path]:
    for base in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if (base / "workspaces").is_dir():
            return sorted(p for p in (base / "workspaces").iterdir() if p.is_dir())
    return []


def _files(root: Path, limit: int, only: tuple[str, ...] | None = None) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", "__pycache__", ".venv", "node_modules"))
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            language = language_for(rel)
            if language is None or (only is not None and language not in only):
                continue
            if 0 < (Path(dirpath) / name).stat().st_size <= MAX_BYTES:
                out.append(rel)
            if len(out) >= limit:
                return out
    return out


def _entry(op: str, root: Path, rel: str, files: set[str]) -> FileEntry | None:
    header = {"op": op, "rel": rel, "path": str(root / rel), "root": str(root), "maxBytes": MAX_BYTES}
    reply, out = _answer(header, [])
    if not reply.get("ok"):
        return None  # (not UTF-8 text: refused by both jobs alike, checked below)
    done = _result(reply, out)
    if op == "index":
        assert done.analysis == b""  # the index job answers no analysis
    value: dict[str, Any] = {
        "names": done.names,
        "hash": done.hash,
        "imports": done.imports,
        "definitions": done.definitions,
        "resolvedImports": resolve_imports(root, rel, done.imports, files.__contains__),
    }
    return entry_from_analysis(value, done.mtime_ns or 0, done.size or 0)


def _comparable(rel: str, entry: FileEntry | None) -> Any:
    if entry is None:
        return None
    # (a language outside PAIRED counts its names from query captures, whose order
    # py-tree-sitter does not keep from one run to the next: analyze() itself differs)
    uses: Any = entry.uses if language_for(rel) in PAIRED else dict(entry.use_items())
    return (entry.mtime_ns, entry.size, entry.hash, entry.package, uses, entry.imports, entry.defs)


SOURCES = [
    pytest.param(ROOT, None, 2_000, id="repository"),
    pytest.param(PURELIB, ("c", "cpp", "javascript"), 400, id="site-packages-c"),
    *(pytest.param(ws, None, 2_000, id=ws.name) for ws in _shared()),
]


@pytest.mark.parametrize(("root", "only", "limit"), SOURCES)
def test_index_job_builds_the_graph_the_analysis_job_builds(
    root: Path, only: tuple[str, ...] | None, limit: int
) -> None:
    rels = _files(root, limit, only)
    assert len(rels) >= 20, f"too few files under {root}"
    files = set(rels)
    lean = {rel: _entry("index", root, rel, files) for rel in rels}
    full = {rel: _entry("analyze", root, rel, files) for rel in rels}
    differ = [rel for rel in rels if _comparable(rel, lean[rel]) != _comparable(rel, full[rel])]
    assert differ == []
    assert sum(len(e.defs) for e in lean.values() if e is not None) > 0
    graphs = [RefGraph.of_entries({r: e for r, e in side.items() if e is not None}) for side in (lean, full)]
    assert graphs[0].edge_count == graphs[1].edge_count > 0
    for rel in rels:
        edges = [{(e.target, e.weight, frozenset(e.names)) for e in g.refs(rel)} for g in graphs]
        assert edges[0] == edges[1], rel
    assert len(graphs[0].symbols) == len(graphs[1].symbols)
