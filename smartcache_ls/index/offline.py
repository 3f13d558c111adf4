"""The reference graph of a folder built in one go, for offline evaluation
(``smartcache-ls evaluate --workspace DIR``) and benchmarks: the server's own scan, reader,
analysis and import resolution, with no server around it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..analysis import analyze, language_for, resolve_imports
from ..ignore import IgnoreRules, scan_files
from ..paths import PathRefused, decode_text
from ..reader import read_checked
from .graph import FileEntry, GraphQueries, RefGraph, entry_from_analysis

MAX_FILE_BYTES = 2 * 1024 * 1024  # the server's default maxFileKB


def build_graph(root: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[RefGraph, list[str]]:
    """The graph of every file with a grammar under ``root`` and the list of indexed files."""
    root = root.resolve()
    files = scan_files(root, IgnoreRules(root))
    known = set(files)
    items: dict[str, FileEntry] = {}
    for rel in files:
        if language_for(rel) is None:
            continue
        try:
            data, st = read_checked(root / rel, root, max_bytes)
            text = decode_text(root / rel, data)
        except PathRefused:
            continue
        value = analyze(rel, text)
        value["resolvedImports"] = resolve_imports(
            root, rel, list(value.get("imports", [])), known.__contains__
        )
        items[rel] = entry_from_analysis(value, st.st_mtime_ns, st.st_size)
    return RefGraph.of_entries(items), files


class GraphStructure(GraphQueries):
    """A predictor's structure provider over a built graph (what the server's Workspace is)."""

    def __init__(self, graph: RefGraph, files: Iterable[str]) -> None:
        self.graph = graph
        self._files = list(files)
        self._importers: dict[str, list[str]] = {}
        for rel, entry in graph.entries.items():
            for target in entry.imports:
                self._importers.setdefault(target, []).append(rel)

    def imports_of(self, path: str) -> list[str]:
        entry = self.graph.entries.get(path)
        return list(entry.imports) if entry is not None else []

    def importers_of(self, path: str) -> list[str]:
        return sorted(self._importers.get(path, ()))

    def files(self) -> list[str]:
        return self._files
