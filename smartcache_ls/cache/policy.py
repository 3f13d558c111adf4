"""Frequency estimator for TinyLFU admission (exact counts over an aging sample window).

TinyLFU (Einziger, Friedman, Manes, 2017) needs the *recent* access frequency of keys:
counters that saturate at 15 and are all halved once ``sample_size`` increments have been
recorded. The paper (and Caffeine) approximate the counts with a count-min sketch to keep
them compact; here they are kept exactly, in a dict of saturating counters, which costs
one dict lookup and store per access (a pure-Python count-min sketch costs four hashed
table probes). The aging keeps the dict bounded: a reset halves every counter and drops
those that reach zero; it comes after ``sample_size`` increments, or earlier once more
than ``max_keys`` (10 per entry of capacity) keys are counted. A reset visits at most
``max_keys + 1`` keys and keeps only those counted twice or more, so it is amortised
O(1) per increment.
The dict's identity never changes (a reset rewrites it in place), so callers may keep
a reference to ``counts`` (``MemoryTier`` counts inline on its write path).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FrequencySketch"]

MAX_COUNT = 15
MIN_CAPACITY = 16
SAMPLE_FACTOR = 20  # increments between agings, per entry of capacity (TinyLFU: 10)
KEY_FACTOR = 10  # keys counted at most, per entry of capacity (more: an early aging)


class FrequencySketch:
    """Aging, saturating access counts of keys (exact within the sample window)."""

    __slots__ = ("additions", "capacity", "counts", "max_keys", "resets", "sample_size")

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = 0
        self.counts: dict[str, int] = {}
        self.additions = 0  # increments since the last reset (counted below saturation)
        self.sample_size = 0
        self.max_keys = 0
        self.resets = 0
        self.ensure_capacity(capacity)

    def ensure_capacity(self, capacity: int) -> None:
        """Size the sample window for ``capacity`` entries; growing it forgets the counts."""
        capacity = max(MIN_CAPACITY, int(capacity))
        if capacity <= self.capacity:
            return
        self.capacity = capacity
        self.counts.clear()
        self.additions = 0
        self.sample_size = SAMPLE_FACTOR * capacity
        self.max_keys = KEY_FACTOR * capacity

    def grow(self, capacity: int, counts: Iterable[tuple[str, int]]) -> None:
        """Resize for more entries, carrying over ``counts`` (key, estimate) of resident keys."""
        if capacity <= self.capacity:
            return
        carried = list(counts)
        self.ensure_capacity(capacity)
        table = self.counts
        for k, n in carried:
            if n > 0:
                table[k] = min(n, MAX_COUNT)

    def frequency(self, key: str) -> int:
        return self.counts.get(key, 0)

    def increment(self, key: str) -> int:
        """Count one access; returns the key's new count (after a reset, if it caused one)."""
        counts = self.counts
        n = counts.get(key, 0)
        if n >= MAX_COUNT:
            return n
        n += 1
        counts[key] = n
        self.additions += 1
        if self.additions >= self.sample_size or (n == 1 and len(counts) > self.max_keys):
            self.reset()
            return n >> 1
        return n

    def reset(self) -> None:
        """Age: halve every counter, forgetting those that reach zero."""
        counts = self.counts
        halved = {k: n >> 1 for k, n in counts.items() if n > 1}
        counts.clear()
        counts.update(halved)
        self.additions //= 2
        self.resets += 1

    def clear(self) -> None:
        self.counts.clear()
        self.additions = 0
