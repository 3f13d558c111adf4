"""Which workspace files hold secrets: never indexed, predicted, prefetched, watched, read or cached.

Patterns are gitignore-style (``pathspec``), matched against workspace-relative
POSIX paths: a pattern without a slash matches a name at any depth, ``dir/``
matches a directory and everything under it, ``!pattern`` re-includes. The
``secretPatterns`` setting replaces :data:`DEFAULT_PATTERNS` as a whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import pathspec

log = logging.getLogger(__name__)

DEFAULT_PATTERNS: tuple[str, ...] = (
    # environment files and credential stores of tools
    ".env*",
    "*.env",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".git-credentials",
    ".dockercfg",
    ".htpasswd",
    "credentials*",
    # private keys, certificates with keys, key stores
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    # folders that hold keys and tokens
    ".ssh/",
    ".gnupg/",
    ".aws/",
)

#: Bounds on the ``secretPatterns`` setting (a pattern list is compiled into regexes).
MAX_PATTERNS = 1000
MAX_PATTERN_CHARS = 1000

# Answers kept per pattern list: the combined regex costs ~30k instructions for a path of the
# defaults (each alternative backtracks over the path), a dict lookup ~100.
KNOWN_ANSWERS = 4096

_GROUP = re.compile(r"\(\?P<[^>]*>")


class SecretPatterns:
    """A compiled pattern list; :meth:`matches` says whether a workspace path is a secret."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_PATTERNS) -> None:
        self.patterns = tuple(patterns)
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)
        self._any = _combined(self._spec)
        self._known: dict[str, bool] = {}  # answers already given (the patterns never change)

    def matches(self, rel: str, is_dir: bool = False) -> bool:
        """True when the workspace-relative POSIX path ``rel`` (a folder if ``is_dir``) is a secret,
        or lies inside a secret folder."""
        if not rel:
            return False
        path = rel + "/" if is_dir else rel
        known = self._known.get(path)
        if known is not None:  # the files in use are asked about on every request
            return known
        found = self._any.match(path) is not None if self._any is not None else self._spec.match_file(path)
        if len(self._known) >= KNOWN_ANSWERS:  # (a workspace scan asks once per file: start over)
            self._known.clear()
        self._known[path] = found
        return found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretPatterns) and other.patterns == self.patterns

    def __hash__(self) -> int:
        return hash(self.patterns)

    def __repr__(self) -> str:
        return f"SecretPatterns({list(self.patterns)!r})"


def _combined(spec: pathspec.GitIgnoreSpec) -> re.Pattern[str] | None:
    """One regex for a list of only including patterns (a path is a secret when any matches):
    2 us a path against 5 us for pathspec's pattern-by-pattern match of the defaults, paid
    by every file of a workspace scan. None when a negation makes the order matter."""
    regexes: list[str] = []
    for pattern in spec.patterns:
        include = getattr(pattern, "include", None)
        regex = getattr(pattern, "regex", None)
        if include is None:  # a blank line or a comment
            continue
        if include is not True or not isinstance(regex, re.Pattern):
            return None
        regexes.append(_GROUP.sub("(?:", regex.pattern))
    if not regexes:
        return re.compile(r"(?!)")
    try:
        return re.compile("|".join(f"(?:{r})" for r in regexes))
    except re.error:
        log.debug("secret patterns not combined; matching them one by one", exc_info=True)
        return None


DEFAULT_SECRETS = SecretPatterns()
