"""Fast matching of workspace paths against a gitignore-style pattern list (``pathspec``).

A workspace scan asks once per file, and pathspec answers pattern by pattern, each
regex trying every ``/`` of the path (``^(?:.+/)?name``). Most lists are names only
(``*.pem``, ``.env*``, ``.ssh/``, ``generated/``): a path matches when one of its
folders or its own name does. For those, :class:`PathMatcher` matches one combined
regex against single names and remembers the answer per folder (the files of a
folder share it). A list that includes paths (``a/b``, ``/top``) is matched as one
combined regex over the whole path, and one with a negation (``!keep``), where the
order matters, by pathspec itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec

_GROUP = re.compile(r"\(\?P<[^>]*>")
_ANY_FOLDER = "^(?:.+/)?"  # how pathspec starts the regex of a pattern without a slash
MAX_FOLDERS = 1 << 16  # folder answers remembered (then forgotten all at once)


class PathMatcher:
    """Whether a workspace-relative POSIX path (a folder if ``is_dir``) matches the patterns of ``spec``."""

    def __init__(self, spec: pathspec.PathSpec[Any]) -> None:
        self._spec = spec
        self._names: re.Pattern[str] | None = None  # the list is names only: one regex, per name
        self._paths: re.Pattern[str] | None = None  # includes only: one regex, over the whole path
        self._folders: dict[str, bool] = {}
        regexes, names_only = _including(spec)
        if regexes is not None:
            try:
                if names_only:
                    self._names = _compile([r[len(_ANY_FOLDER) :] if r != "." else ".+" for r in regexes])
                else:
                    self._paths = _compile(regexes)
            except re.error:  # (pathspec compiled each of them: the union is the odd one)
                self._names = self._paths = None
        self.match: Callable[[str, bool], bool] = (
            self._match_names
            if self._names is not None
            else self._match_paths
            if self._paths is not None
            else self._match_spec
        )

    def __call__(self, rel: str, is_dir: bool = False) -> bool:
        return self.match(rel, is_dir)

    def _match_spec(self, rel: str, is_dir: bool = False) -> bool:
        return bool(self._spec.match_file(rel + "/" if is_dir else rel))

    def _match_paths(self, rel: str, is_dir: bool = False) -> bool:
        assert self._paths is not None
        return self._paths.match(rel + "/" if is_dir else rel) is not None

    def _match_names(self, rel: str, is_dir: bool = False) -> bool:
        if is_dir:
            return self._folder(rel)
        cut = rel.rfind("/")
        if cut >= 0 and self._folder(rel[:cut]):
            return True
        assert self._names is not None
        return self._names.match(rel[cut + 1 :]) is not None

    def _folder(self, rel: str) -> bool:
        """Whether folder ``rel`` or one above it matches (remembered per folder; no recursion:
        a path may be thousands of folders deep)."""
        folders = self._folders
        known = folders.get(rel)
        if known is not None:
            return known
        assert self._names is not None
        if len(folders) >= MAX_FOLDERS:
            self._folders = folders = {}
        # the nearest folder above with a known answer, then down from there
        ends = []
        end = len(rel)
        hit = False
        while True:
            ends.append(end)
            cut = rel.rfind("/", 0, end)
            if cut < 0:
                break
            above = folders.get(rel[:cut])
            if above is not None:
                hit = above
                break
            end = cut
        for end in reversed(ends):
            if not hit:
                start = rel.rfind("/", 0, end) + 1
                hit = self._names.match(rel[start:end] + "/") is not None
            folders[rel[:end]] = hit
        return hit

def _including(spec: pathspec.PathSpec[Any]) -> tuple[list[str] | None, bool]:
    """The regexes of a list of including patterns only (None if one excludes), and whether
    every one of them is a name (no slash but a trailing one)."""
    regexes: list[str] = []
    names_only = True
    for pattern in spec.patterns:
        include = getattr(pattern, "include", None)
        regex = getattr(pattern, "regex", None)
        if include is None:  # a blank line or a comment
            continue
        if include is not True or not isinstance(regex, re.Pattern):
            return None, False
        text = regex.pattern
        source = str(getattr(pattern, "pattern", "") or "")
        if not (
            (text.startswith(_ANY_FOLDER) or text == ".")
            and "/" not in source.strip().rstrip("/")
            and "\\" not in source
        ):
            names_only = False
        regexes.append(_GROUP.sub("(?:", text))
    return regexes, names_only


def _compile(regexes: list[str]) -> re.Pattern[str]:
    if not regexes:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{r})" for r in regexes))
