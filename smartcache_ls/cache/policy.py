"""Frequency sketch for TinyLFU admission (count-min, 4-bit counters, periodic aging).

A count-min sketch with four rows of saturating 4-bit counters (kept one per
byte in a ``bytearray``), conservative update, and a reset that halves every
counter once ``sample_size`` increments have been recorded, so frequencies
describe the recent past (Einziger, Friedman, Manes: "TinyLFU", 2017).
As in Caffeine, a key's four counters share one 64-byte block (one cache line):
the block comes from the low bits of Python's (per-process salted) ``hash``, the
counter in each 16-counter row of the block from four disjoint groups of high bits.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FrequencySketch"]

MAX_COUNT = 15
MIN_COUNTERS = 16384  # for small caches (keeps collisions rare)
SAMPLE_FACTOR = 20  # increments between agings, per entry of capacity (TinyLFU: 10)
_HALVE = bytes(i >> 1 for i in range(256))


def _pow2_at_least(n: int) -> int:
    p = 16
    while p < n:
        p <<= 1
    return p


class FrequencySketch:
    """Approximate, aging access counts of keys, in ~16 bytes per tracked entry."""

    __slots__ = (
        "_additions",
        "_mask",
        "_table",
        "_width",
        "capacity",
        "resets",
        "sample_size",
    )

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = 0
        self._width = 0
        self._mask = 0
        self._table = bytearray()
        self._additions = 0
        self.sample_size = 0
        self.resets = 0
        self.ensure_capacity(capacity)

    def ensure_capacity(self, capacity: int) -> None:
        """Size the table for ``capacity`` entries; growing it forgets the counts."""
        capacity = max(16, int(capacity))
        if capacity <= self.capacity:
            return
        self.capacity = capacity
        counters = _pow2_at_least(max(16 * capacity, MIN_COUNTERS))
        self._width = counters
        self._mask = (counters >> 6) - 1  # block index mask; a block is 64 one-byte counters
        self._table = bytearray(counters)
        self._additions = 0
        self.sample_size = SAMPLE_FACTOR * capacity

    def grow(self, capacity: int, counts: Iterable[tuple[str, int]]) -> None:
        """Resize for more entries, carrying over ``counts`` (key, estimate) of resident keys."""
        if capacity <= self.capacity:
            return
        carried = list(counts)
        self.ensure_capacity(capacity)
        t = self._table
        for k, n in carried:
            if n > 0:
                n = min(n, MAX_COUNT)
                for i in self._indexes(k):
                    if t[i] < n:
                        t[i] = n

    def _indexes(self, key: str) -> tuple[int, int, int, int]:
        # Caffeine's block layout: the block from the low bits, one counter in each of the
        # block's four 16-counter rows from four disjoint groups of high bits
        h = hash(key)
        base = (h & self._mask) << 6
        return (
            base + ((h >> 40) & 15),
            base + 16 + ((h >> 44) & 15),
            base + 32 + ((h >> 48) & 15),
            base + 48 + ((h >> 52) & 15),
        )

    def frequency(self, key: str) -> int:
        t = self._table
        a, b, c, d = self._indexes(key)
        return min(t[a], t[b], t[c], t[d])

    def increment(self, key: str) -> int:
        """Count one access; returns the key's new estimate (read it again after ``resets``
        changed as ``estimate >> (resets - then)``: halving commutes with the minimum)."""
        h = hash(key)
        t = self._table
        base = (h & self._mask) << 6
        a = base + ((h >> 40) & 15)
        b = base + 16 + ((h >> 44) & 15)
        c = base + 32 + ((h >> 48) & 15)
        d = base + 48 + ((h >> 52) & 15)
        ta = t[a]
        tb = t[b]
        tc = t[c]
        td = t[d]
        low = ta if ta < tb else tb
        if tc < low:
            low = tc
        if td < low:
            low = td
        if low >= 15:  # MAX_COUNT
            return 15
        # conservative update: raise only the counters at the minimum
        up = low + 1
        if ta == low:
            t[a] = up
        if tb == low:
            t[b] = up
        if tc == low:
            t[c] = up
        if td == low:
            t[d] = up
        self._additions += 1
        if self._additions >= self.sample_size:
            self.reset()
            return up >> 1
        return up

    def reset(self) -> None:
        """Age: halve every counter (C-speed via ``bytearray.translate``)."""
        self._table = bytearray(self._table.translate(_HALVE))
        self._additions //= 2
        self.resets += 1

    def clear(self) -> None:
        self._table = bytearray(len(self._table))
        self._additions = 0
