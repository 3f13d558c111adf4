"""Counters in Caffeine's style: a mutable recorder per tier, immutable snapshots.

``StatsCounter`` is updated by a tier (cheap attribute increments; exact under
the tier's lock, approximate for the lock-free read path under heavy thread
races, like Caffeine's striped counters). ``CacheStats`` is the value object
a ``stats()`` call returns, rendered camelCase for the wire with ``as_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CacheStats", "PrefetchStats", "StatsCounter"]


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    loads: int = 0
    load_failures: int = 0
    total_load_time: float = 0.0  # seconds
    evictions: int = 0
    evicted_bytes: int = 0
    entries: int = 0
    bytes: int = 0

    @property
    def requests(self) -> int:
        return self.hits + self.misses

    @property
    def hit_ratio(self) -> float:
        n = self.requests
        return self.hits / n if n else 0.0

    @property
    def miss_ratio(self) -> float:
        n = self.requests
        return self.misses / n if n else 0.0

    @property
    def average_load_penalty(self) -> float:
        n = self.loads + self.load_failures
        return self.total_load_time / n if n else 0.0

    def plus(self, other: CacheStats) -> CacheStats:
        return CacheStats(
            self.hits + other.hits,
            self.misses + other.misses,
            self.loads + other.loads,
            self.load_failures + other.load_failures,
            self.total_load_time + other.total_load_time,
            self.evictions + other.evictions,
            self.evicted_bytes + other.evicted_bytes,
            self.entries + other.entries,
            self.bytes + other.bytes,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "requests": self.requests,
            "hitRatio": self.hit_ratio,
            "loads": self.loads,
            "loadFailures": self.load_failures,
            "totalLoadTime": self.total_load_time,
            "averageLoadPenalty": self.average_load_penalty,
            "evictions": self.evictions,
            "evictedBytes": self.evicted_bytes,
            "entries": self.entries,
            "bytes": self.bytes,
        }


class StatsCounter:
    """The mutable side: tiers bump these fields directly."""

    __slots__ = (
        "evicted_bytes",
        "evictions",
        "hits",
        "load_failures",
        "loads",
        "misses",
        "total_load_time",
    )

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.hits = 0
        self.misses = 0
        self.loads = 0
        self.load_failures = 0
        self.total_load_time = 0.0
        self.evictions = 0
        self.evicted_bytes = 0

    def record_load(self, seconds: float, ok: bool = True) -> None:
        if ok:
            self.loads += 1
        else:
            self.load_failures += 1
        self.total_load_time += seconds

    def record_eviction(self, size: int) -> None:
        self.evictions += 1
        self.evicted_bytes += size

    def snapshot(self, entries: int = 0, nbytes: int = 0) -> CacheStats:
        return CacheStats(
            self.hits,
            self.misses,
            self.loads,
            self.load_failures,
            self.total_load_time,
            self.evictions,
            self.evicted_bytes,
            entries,
            nbytes,
        )


@dataclass(frozen=True, slots=True)
class PrefetchStats:
    """Prefetch accounting: issued entries, first demand hits (used), dropped unused (wasted).

    accuracy = used / issued; coverage = used / (used + demand misses), i.e. the
    share of would-be demand misses that prefetching turned into hits.
    """

    issued: int = 0
    used: int = 0
    wasted: int = 0
    demand_misses: int = 0

    @property
    def accuracy(self) -> float:
        return self.used / self.issued if self.issued else 0.0

    @property
    def coverage(self) -> float:
        n = self.used + self.demand_misses
        return self.used / n if n else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "issued": self.issued,
            "used": self.used,
            "wasted": self.wasted,
            "accuracy": self.accuracy,
            "demandMisses": self.demand_misses,
            "coverage": self.coverage,
        }
