"""The state the server keeps for one workspace folder.

Its identity (root, cache namespace), the documents the editor has open (their
text wins over disk), the known files, the import graph learnt from analyses,
and the predictor. It answers the predictor's structure questions without
touching the disk.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

import attrs

from .content import content_hash
from .fileindex import FileIndex
from .ignore import IgnoreRules
from .index.graph import GraphQueries, RefGraph
from .indexing import IndexProgress
from .paths import uri_to_path
from .predict.model import Predictor
from .prefetch_plan import PrefetchPlanner
from .secrets import DEFAULT_SECRETS, SecretPatterns


@attrs.define
class OpenDoc:
    """A document open in the editor; ``modified`` once changed since it was opened or saved."""

    text: str
    version: int
    modified: bool = False
    _hash: str | None = None

    @property
    def hash(self) -> str:
        if self._hash is None:
            self._hash = content_hash(self.text)
        return self._hash


def namespace_of(root: Path) -> str:
    """A short stable id of a workspace folder, used to namespace its cache keys."""
    return hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()


class Workspace(GraphQueries):
    """One workspace folder. The engine serialises access with ``lock``."""

    def __init__(
        self,
        uri: str,
        root: Path,
        name: str,
        predictor: Predictor,
        exclude: tuple[Path, ...] = (),
        secrets: SecretPatterns = DEFAULT_SECRETS,
    ) -> None:
        self.uri = uri
        self.root = root
        self.literal_root = uri_to_path(uri)
        self.name = name
        self.namespace = namespace_of(root)
        self.rules = IgnoreRules(root, exclude=exclude, secrets=secrets)
        self.predictor = predictor
        self.lock = threading.RLock()
        self.open_docs: dict[str, OpenDoc] = {}
        self.known_files = FileIndex()
        self._imports: dict[str, list[str]] = {}
        self._importers: dict[str, set[str]] = {}
        self.last_access: str | None = None
        self.dirty = False
        self.progress = IndexProgress()  # the background indexing (indexing.index_workspace)
        self.graph = RefGraph()  # names defined and used, file -> files it refers to (index/)
        self.planner = PrefetchPlanner()

    # cache keys -------------------------------------------------------------
    def file_key(self, rel: str) -> str:
        return f"{self.namespace}:f:{rel}"

    def analysis_key(self, rel: str) -> str:
        return f"{self.namespace}:a:{rel}"

    @property
    def prefix(self) -> str:
        return f"{self.namespace}:"

    # structure provider (non-blocking, in-memory) ----------------------------
    def imports_of(self, path: str) -> list[str]:
        return self._imports.get(path, [])

    def importers_of(self, path: str) -> list[str]:
        return sorted(self._importers.get(path, ()))

    def files(self) -> Iterable[str]:
        return self.known_files

    def set_imports(self, rel: str, targets: list[str]) -> None:
        before = self._imports.get(rel, [])
        if targets == before and rel in self._imports:  # (every cached analysis read sets them again)
            return
        for old in before:
            self._importers.get(old, set()).discard(rel)
        self._imports[rel] = targets
        for target in targets:
            self._importers.setdefault(target, set()).add(rel)
        if targets != before:
            self.predictor.structure_changed()

    def add_file(self, rel: str) -> None:
        """A file the index did not list (one the editor opened, one created on disk): known
        from now on, and indexed by the predictor with it. Told, the predictor never has to
        find the new file by walking all the known ones (50 ms of the event loop at 50,000)."""
        if rel not in self.known_files:
            self.known_files.add(rel)
            self.predictor.index_files((rel,))

    def drop_file(self, rel: str) -> None:
        self.known_files.discard(rel)
        self.set_imports(rel, [])
        self._imports.pop(rel, None)
        self.graph.drop([rel])
