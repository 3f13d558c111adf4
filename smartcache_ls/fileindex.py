"""The files a workspace holds, as the index knows them: a set, plus listings by directory.

Import resolution asks it instead of the disk: ``path in index`` is a set lookup (no
``stat``, no ignore-rule match per candidate), and :meth:`FileIndex.names_in` lists one
directory's files (Go packages, Java ``.*`` imports) without ``os.listdir``. The
directory map is built on the first listing and kept up to date from then on, so a
workspace whose imports never list a directory never pays for it.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Iterable


class FileIndex(set[str]):
    """Workspace-relative POSIX paths of the known files (a ``set`` with directory listings)."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        super().__init__(paths)
        self._dirs: dict[str, set[str]] | None = None
        self._lock = threading.Lock()  # the directory map, against concurrent mutations

    # mutations keep the directory map (once built) in step --------------------------
    def add(self, path: str) -> None:
        if path in self:
            return
        with self._lock:
            super().add(path)
            if self._dirs is not None:
                _file_in(self._dirs, path)

    def update(self, *others: Iterable[str]) -> None:
        with self._lock:
            for paths in others:
                if self._dirs is None:
                    super().update(paths)
                    continue
                for path in paths:
                    if path not in self:
                        super().add(path)
                        _file_in(self._dirs, path)

    def discard(self, path: object) -> None:
        with self._lock:
            if path not in self:
                return
            super().discard(path)
            if self._dirs is not None:
                head, name = posixpath.split(str(path))
                names = self._dirs.get(head)
                if names is not None:
                    names.discard(name)
                    if not names:
                        del self._dirs[head]

    def remove(self, path: object) -> None:
        if path not in self:
            raise KeyError(path)
        self.discard(path)

    def clear(self) -> None:
        with self._lock:
            super().clear()
            self._dirs = None

    def difference_update(self, *others: Iterable[object]) -> None:
        for paths in others:
            for path in list(paths):
                self.discard(path)

    def intersection_update(self, *others: Iterable[object]) -> None:
        keep = set(self).intersection(*others)
        self.difference_update([path for path in self if path not in keep])

    def symmetric_difference_update(self, other: Iterable[str]) -> None:
        given, mine = set(other), set(self)
        self.difference_update(given & mine)
        self.update(given - mine)

    def __iand__(self, other: Iterable[object]) -> FileIndex:
        self.intersection_update(other)
        return self

    def __ixor__(self, other: Iterable[str]) -> FileIndex:  # type: ignore[override,misc]
        self.symmetric_difference_update(other)
        return self

    def __ior__(self, other: Iterable[str]) -> FileIndex:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __isub__(self, other: Iterable[object]) -> FileIndex:
        self.difference_update(other)
        return self

    def pop(self) -> str:
        path = next(iter(self))
        self.discard(path)
        return path

    # queries ------------------------------------------------------------------------
    def names_in(self, directory: str) -> list[str]:
        """The names of the known files directly in ``directory`` ('' is the root), sorted."""
        with self._lock:
            if self._dirs is None:
                dirs: dict[str, set[str]] = {}
                for path in self:
                    _file_in(dirs, path)
                self._dirs = dirs
            return sorted(self._dirs.get(directory, ()))


def _file_in(dirs: dict[str, set[str]], path: str) -> None:
    head, name = posixpath.split(path)
    dirs.setdefault(head, set()).add(name)
