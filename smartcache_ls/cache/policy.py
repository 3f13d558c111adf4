"""Frequency sketch for TinyLFU admission (count-min, 4-bit counters, periodic aging).

A count-min sketch with four rows of saturating 4-bit counters (kept one per
byte in a ``bytearray``), conservative update, and a reset that halves every
counter once ``sample_size`` increments have been recorded, so frequencies
describe the recent past (Einziger, Friedman, Manes: "TinyLFU", 2017).
Row indices come from Python's (per-process salted) ``hash`` by double hashing.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FrequencySketch"]

MAX_COUNT = 15
MIN_WIDTH = 4096  # counters per row for small caches (keeps collisions rare)
SAMPLE_FACTOR = 10  # increments between agings, per entry of capacity (TinyLFU: 10)
_HALVE = bytes(i >> 1 for i in range(256))


def _pow2_at_least(n: int) -> int:
    p = 16
    while p < n:
        p <<= 1
    return p


class FrequencySketch:
    """Approximate, aging access counts of keys, in ~16 bytes per tracked entry."""

    __slots__ = ("_additions", "_mask", "_table", "_width", "capacity", "sample_size")

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = 0
        self._width = 0
        self._mask = 0
        self._table = bytearray()
        self._additions = 0
        self.sample_size = 0
        self.ensure_capacity(capacity)

    def ensure_capacity(self, capacity: int) -> None:
        """Size the table for ``capacity`` entries; growing it forgets the counts."""
        capacity = max(16, int(capacity))
        if capacity <= self.capacity:
            return
        self.capacity = capacity
        self._width = _pow2_at_least(max(4 * capacity, MIN_WIDTH))
        self._mask = self._width - 1
        self._table = bytearray(4 * self._width)
        self._additions = 0
        self.sample_size = SAMPLE_FACTOR * capacity

    def grow(self, capacity: int, keys: Iterable[str]) -> None:
        """Resize for more entries, carrying over the counts of ``keys`` (the resident ones)."""
        if capacity <= self.capacity:
            return
        counts = [(k, self.frequency(k)) for k in keys]
        self.ensure_capacity(capacity)
        t = self._table
        for k, n in counts:
            if n:
                for i in self._indexes(k):
                    t[i] = max(t[i], n)

    def _indexes(self, key: str) -> tuple[int, int, int, int]:
        h = hash(key)
        h2 = (h >> 32) | 1
        m = self._mask
        w = self._width
        return h & m, ((h + h2) & m) + w, ((h + 2 * h2) & m) + 2 * w, ((h + 3 * h2) & m) + 3 * w

    def frequency(self, key: str) -> int:
        t = self._table
        a, b, c, d = self._indexes(key)
        return min(t[a], t[b], t[c], t[d])

    def increment(self, key: str) -> None:
        t = self._table
        h = hash(key)
        h2 = (h >> 32) | 1
        m = self._mask
        w = self._width
        a = h & m
        b = ((h + h2) & m) + w
        c = ((h + 2 * h2) & m) + 2 * w
        d = ((h + 3 * h2) & m) + 3 * w
        low = min(t[a], t[b], t[c], t[d])
        if low >= MAX_COUNT:
            return
        # conservative update: raise only the counters at the minimum
        if t[a] == low:
            t[a] = low + 1
        if t[b] == low:
            t[b] = low + 1
        if t[c] == low:
            t[c] = low + 1
        if t[d] == low:
            t[d] = low + 1
        self._additions += 1
        if self._additions >= self.sample_size:
            self.reset()

    def reset(self) -> None:
        """Age: halve every counter (C-speed via ``bytearray.translate``)."""
        self._table = bytearray(self._table.translate(_HALVE))
        self._additions //= 2

    def clear(self) -> None:
        self._table = bytearray(len(self._table))
        self._additions = 0
