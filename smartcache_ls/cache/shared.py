"""Analyses shared through Redis are checked before they are served.

Anyone who can write to the Redis can plant a value under a content-hash key, so a
shared analysis is taken only if it is the analysis of exactly the text we hold:

* its ``hash`` is the hash of our text (recomputed here, not taken from a cache), and its
  ``lines`` and ``bytes`` are our text's;
* its ``language`` is the one we would give the file (a ``.h`` file may be C or C++);
* its shape is the analyser's: the same top-level fields, ``symbols`` a tree of
  ``{name, kind, range, children}`` with integer line/character positions inside the file,
  ``imports`` a list of strings, ``metrics`` a map of numbers and flags, ``names`` the package
  and a bounded map of the names the file uses to their counts;
* its size is bounded (``max_shared_bytes``; Redis sends no more than that, see
  ``RedisTier.get_shared``), and so are the depth and the number of its symbols.

``verify_shared`` returns None for a good analysis, else why it was refused;
``fetch_verified`` reads one from Redis, checks it, counts it (``sharedHits`` /
``sharedRejected``) and warns once per process about a refused one.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

from ..content import content_hash

if TYPE_CHECKING:
    from .redis import RedisTier

__all__ = ["MAX_DEPTH", "fetch_verified", "max_shared_bytes", "verify_shared"]

log = logging.getLogger(__name__)

MAX_DEPTH = 64  # nesting of symbols' children
MIN_SHARED_BYTES = 64 << 10
SHARED_BYTES_PER_BYTE = 16  # an outline may be larger than its file, within reason

_SYMBOL_KEYS = frozenset({"name", "kind", "range", "children"})
_warned = threading.Event()  # a refused shared analysis is a warning once, then debug lines


def fetch_verified(
    redis: RedisTier, key: str, rel: str, text: str, language: str | None
) -> dict[str, Any] | None:
    """The shared analysis under ``key`` if it is the analysis of ``text`` (of file ``rel``)."""
    shared = redis.get_shared(key, max_shared_bytes(len(text.encode("utf-8", "surrogatepass"))))
    if shared is None:
        return None
    why = verify_shared(shared, text, language)
    if why is None:
        redis.accept_shared()
        return dict(shared)
    redis.reject_shared()
    level = logging.DEBUG if _warned.is_set() else logging.WARNING
    _warned.set()
    log.log(level, "shared analysis of %s from Redis refused (%s): recomputed", rel, why)
    return None


def max_shared_bytes(text_bytes: int) -> int:
    """The largest encoded analysis accepted for a file of ``text_bytes`` bytes."""
    return MIN_SHARED_BYTES + SHARED_BYTES_PER_BYTE * text_bytes


@functools.cache
def _analysis_keys() -> frozenset[str]:
    """The top-level fields the analyser produces (whatever other fields it gains)."""
    from ..analysis import analyze

    return frozenset(analyze("empty.txt", ""))


def verify_shared(value: Any, text: str, language: str | None) -> str | None:
    """None if ``value`` is the analysis of ``text`` in ``language``; else the reason it is not."""
    if not isinstance(value, dict):
        return "not an object"
    if set(value) != _analysis_keys():
        return "fields differ from an analysis"
    if value["hash"] != content_hash(text):
        return "hash is not the hash of our text"
    if value["language"] != language and not (language == "c" and value["language"] == "cpp"):
        return f"language {value['language']!r}, not {language!r}"
    lines = value["lines"]
    if not _is_int(lines) or not _is_int(value["bytes"]):
        return "lines or bytes not integers"
    if value["bytes"] != len(text.encode("utf-8", "surrogatepass")) or lines != _count_lines(text):
        return "lines or bytes differ from our text"
    imports = value["imports"]
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        return "imports not a list of strings"
    metrics = value["metrics"]
    if not isinstance(metrics, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float | bool) for k, v in metrics.items()
    ):
        return "metrics not a map of numbers"
    why = _check_names(value["names"])
    if why is not None:
        return why
    return _check_symbols(value["symbols"], lines)


def _check_names(names: Any) -> str | None:
    """The names a file uses (the reference graph is built from them): a bounded map."""
    from ..analysis.names import MAX_NAMES

    if not isinstance(names, dict) or set(names) != {"package", "uses"}:
        return "names not {package, uses}"
    if names["package"] is not None and not isinstance(names["package"], str):
        return "names' package not a string"
    uses = names["uses"]
    if not isinstance(uses, dict) or len(uses) > MAX_NAMES:
        return "names' uses not a bounded map"
    if not all(isinstance(k, str) and _is_int(v) and v > 0 for k, v in uses.items()):
        return "names' uses not a map of names to counts"
    return None


def _count_lines(text: str) -> int:
    from ..analysis.metrics import count_lines

    return count_lines(text)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_symbols(symbols: Any, lines: int) -> str | None:
    stack: list[tuple[Any, int]] = [(symbols, 0)]
    while stack:
        items, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "symbols nested too deep"
        if not isinstance(items, list):
            return "symbols not a list"
        for item in items:
            if not isinstance(item, dict) or set(item) != _SYMBOL_KEYS:
                return "a symbol is not {name, kind, range, children}"
            if not isinstance(item["name"], str) or not isinstance(item["kind"], str):
                return "a symbol's name or kind is not a string"
            if not _range_ok(item["range"], lines):
                return "a symbol's range is not a range inside the file"
            stack.append((item["children"], depth + 1))
    return None


def _range_ok(value: Any, lines: int) -> bool:
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        return False
    for end in (value["start"], value["end"]):
        if not isinstance(end, dict) or set(end) != {"line", "character"}:
            return False
        if not _is_int(end["line"]) or not _is_int(end["character"]) or end["line"] > lines:
            return False
    return True
