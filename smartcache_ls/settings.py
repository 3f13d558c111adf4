"""Typed server settings, from ``initializationOptions`` and ``workspace/didChangeConfiguration``."""

from __future__ import annotations

import logging
import math
from typing import Any

import attrs

from .secrets import DEFAULT_PATTERNS, MAX_PATTERN_CHARS, MAX_PATTERNS, SecretPatterns
from .workers import default_size

log = logging.getLogger(__name__)


@attrs.frozen
class PrefetchSettings:
    enabled: bool = True
    top_k: int = 5
    threshold: float = 0.05
    max_files: int = 32
    max_kb: int = 1024


@attrs.frozen
class Settings:
    """What a user can set. Field names are snake_case here, camelCase on the wire."""

    max_memory_mb: float = 256
    max_disk_mb: float = 1024
    ttl_seconds: float = 7 * 24 * 3600
    max_file_kb: int = 2048
    prefetch: PrefetchSettings = PrefetchSettings()
    redis_url: str | None = None
    share_analyses: bool = False
    cache_dir: str | None = None
    secret_patterns: tuple[str, ...] = DEFAULT_PATTERNS
    analysis_workers: int = attrs.field(factory=default_size)  # 0: analyse on the server's threads

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_kb * 1024)

    @property
    def max_memory_bytes(self) -> int:
        return int(self.max_memory_mb * 1024 * 1024)

    @property
    def max_disk_bytes(self) -> int:
        return int(self.max_disk_mb * 1024 * 1024)

    def merged(self, raw: Any) -> tuple[Settings, list[str]]:
        """These settings with the recognised, well-typed fields of ``raw`` applied.

        Returns the new settings and a list of complaints about fields that were
        ignored (unknown, of the wrong type, NaN or below their range) or clamped
        (above their range, infinity included), for the log.
        """
        if raw is None:
            return self, []
        if not isinstance(raw, dict):
            return self, [f"settings must be an object, got {type(raw).__name__}"]
        if isinstance(raw.get("smartcache"), dict):
            raw = raw["smartcache"]
        problems: list[str] = []
        top: dict[str, Any] = {}
        for wire, field, kind, low, high in _FIELDS:
            if wire not in raw:
                continue
            value = _check(wire, raw[wire], kind, low, high, problems)
            if value is not _INVALID:
                top[field] = value
        prefetch = self.prefetch
        raw_prefetch = raw.get("prefetch")
        if isinstance(raw_prefetch, dict):
            changes: dict[str, Any] = {}
            for wire, field, kind, low, high in _PREFETCH_FIELDS:
                if wire in raw_prefetch:
                    value = _check(f"prefetch.{wire}", raw_prefetch[wire], kind, low, high, problems)
                    if value is not _INVALID:
                        changes[field] = value
            prefetch = attrs.evolve(prefetch, **changes)
        elif raw_prefetch is not None:
            problems.append("prefetch must be an object")
        known = {f[0] for f in _FIELDS} | {"prefetch"}
        problems.extend(f"unknown setting {_show(key)}" for key in raw if key not in known)
        return attrs.evolve(self, prefetch=prefetch, **top), problems


_INVALID = object()

# (wire name, attribute, type, lowest accepted value, highest value: larger ones are clamped to it)
_FIELDS: list[tuple[str, str, type, float | None, float | None]] = [
    ("maxMemoryMB", "max_memory_mb", float, 1, 1024 * 1024),  # 1 TiB
    ("maxDiskMB", "max_disk_mb", float, 1, 16 * 1024 * 1024),  # 16 TiB
    ("ttlSeconds", "ttl_seconds", float, 1, 10 * 365 * 24 * 3600),  # ten years
    ("maxFileKB", "max_file_kb", int, 1, 64 * 1024),  # 64 MiB, the largest frame the server reads
    ("redisUrl", "redis_url", str, None, None),
    ("shareAnalyses", "share_analyses", bool, None, None),
    ("cacheDir", "cache_dir", str, None, None),
    ("secretPatterns", "secret_patterns", tuple, None, None),
    ("analysisWorkers", "analysis_workers", int, 0, 64),
]
_PREFETCH_FIELDS: list[tuple[str, str, type, float | None, float | None]] = [
    ("enabled", "enabled", bool, None, None),
    ("topK", "top_k", int, 0, 100),
    ("threshold", "threshold", float, 0, 1),
    ("maxFiles", "max_files", int, 0, 10_000),
    ("maxKB", "max_kb", int, 0, 1 << 20),
]
_MAX_TEXT = 4096


def _check(
    name: str, value: Any, kind: type, low: float | None, high: float | None, problems: list[str]
) -> Any:
    if kind is tuple:
        return _check_patterns(name, value, problems)
    if value is None and kind is str:
        return None
    if kind is str and value == "":
        return None
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value) if abs(value) < 2**1000 else math.copysign(math.inf, value)
    if not ok:
        problems.append(f"{name} must be {kind.__name__}, got {_show(value)}")
        return _INVALID
    if kind is str and ("\x00" in value or len(value) > _MAX_TEXT):
        problems.append(f"{name} must be text without NUL bytes, at most {_MAX_TEXT} characters")
        return _INVALID
    if isinstance(value, float) and math.isnan(value):
        problems.append(f"{name} must be a number, got NaN")
        return _INVALID
    if low is not None and value < low:
        problems.append(f"{name} must be at least {low}, got {_show(value)}")
        return _INVALID
    if high is not None and value > high:
        problems.append(f"{name} is at most {high:.15g}, got {_show(value)}: using {high:.15g}")
        return kind(high)
    return value


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_patterns(name: str, value: Any, problems: list[str]) -> Any:
    """A list of gitignore-style patterns (``secretPatterns``), bounded in count and length."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{name} must be a list of strings, got {_show(value)}")
        return _INVALID
    if len(value) > MAX_PATTERNS or any(len(v) > MAX_PATTERN_CHARS for v in value):
        problems.append(
            f"{name} holds at most {MAX_PATTERNS} patterns of at most {MAX_PATTERN_CHARS} characters"
        )
        return _INVALID
    try:
        SecretPatterns(value)
    except (ValueError, TypeError) as exc:  # pathspec's error for a malformed pattern is a ValueError
        problems.append(f"{name}: {exc}")
        return _INVALID
    return tuple(value)


def settings_to_wire(settings: Settings) -> dict[str, Any]:
    """The settings as the client would send them (for logs and stats)."""
    out: dict[str, Any] = {wire: getattr(settings, field) for wire, field, *_ in _FIELDS}
    out["secretPatterns"] = list(settings.secret_patterns)
    out["prefetch"] = {wire: getattr(settings.prefetch, field) for wire, field, *_ in _PREFETCH_FIELDS}
    return out
