"""Which workspace paths the server ignores: VCS internals, heavy folders, .gitignore'd files,
and secrets (:mod:`.secrets`), which nothing that scans or watches a workspace may pick up."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pathmatch import PathMatcher

from .reader import read_optional_text
from .secrets import DEFAULT_SECRETS, SecretPatterns

log = logging.getLogger(__name__)

#: The largest .gitignore / .git/info/exclude read; a larger one is skipped.
MAX_IGNORE_FILE_BYTES = 1 << 20

HEAVY_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
        "build",
        "dist",
        "target",
        "out",
        ".idea",
        ".vscode-test",
        ".gradle",
        ".cache",
        "site-packages",
        ".eggs",
    }
)


class IgnoreRules:
    """Ignore rules of one workspace folder: the heavy folders, its .gitignore files,
    ``exclude``: folders inside it that are not the developer's (our own cache directory),
    and ``secrets`` (the engine swaps in new patterns when the setting changes)."""

    def __init__(
        self,
        root: Path,
        extra_dirs: frozenset[str] = frozenset(),
        exclude: Iterable[Path] = (),
        secrets: SecretPatterns = DEFAULT_SECRETS,
    ) -> None:
        self.root = root
        self.secrets = secrets
        self.dirs = HEAVY_DIRS | extra_dirs
        self.excluded = tuple(
            p.relative_to(root).as_posix() for p in exclude if p != root and p.is_relative_to(root)
        )
        self._spec: PathMatcher | None = None
        self._loaded = False  # read on first use (off the initialize handler)

    def _load_spec(self) -> PathMatcher | None:
        lines: list[str] = []
        for name in (".gitignore", ".git/info/exclude"):
            # through the checked reader: a FIFO, a device or a link out of the workspace is skipped
            text = read_optional_text(self.root / name, self.root, MAX_IGNORE_FILE_BYTES)
            if text is not None:
                lines.extend(text.splitlines())
        if not lines:
            return None
        import pathspec  # (its import costs 20+ ms: only once there is a .gitignore)

        from .pathmatch import PathMatcher

        try:
            return PathMatcher(pathspec.GitIgnoreSpec.from_lines(lines))
        except (ValueError, TypeError) as exc:
            log.warning("ignoring unreadable .gitignore in %s: %s", self.root, exc)
            return None

    def reload(self) -> None:
        self._spec = self._load_spec()
        self._loaded = True

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """True when the workspace-relative POSIX path ``rel`` should be ignored."""
        if self.secrets.matches(rel, is_dir):
            return True
        for folder in self.excluded:
            if rel == folder or rel.startswith(folder + "/"):
                return True
        parts = rel.split("/")
        if any(part in self.dirs for part in (parts if is_dir else parts[:-1])):
            return True
        if not self._loaded:
            self.reload()
        if self._spec is None:
            return False
        return self._spec.match(rel, is_dir)

    def file_ignored(self, rel: str) -> bool:
        """:meth:`ignored` for a file listed in a folder these rules keep (a walk that does not
        descend into ignored folders): only its own name and the .gitignore can leave it out."""
        if self.secrets.matches(rel):
            return True
        if not self._loaded:
            self.reload()
        return self._spec is not None and self._spec.match(rel, False)


def scan_files(root: Path, rules: IgnoreRules, limit: int = 50_000) -> list[str]:
    """Workspace-relative paths of the files under ``root`` that the rules keep, at most ``limit``."""
    import os

    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        dirnames[:] = sorted(d for d in dirnames if not rules.ignored(prefix + d, is_dir=True))
        for name in sorted(filenames):
            rel = prefix + name
            if not rules.ignored(rel):
                found.append(rel)
                if len(found) >= limit:
                    return found
    return found
