"""Frequency history for TinyLFU admission (exact counts over an aging sample window).

TinyLFU (Einziger, Friedman, Manes, 2017) needs the *recent* access frequency of keys:
counters that saturate at 15 and are all halved once ``sample_size`` increments have been
recorded. The paper (and Caffeine) approximate the counts with a count-min sketch to keep
them compact; here they are kept exactly, in a dict of saturating counters, which costs
one dict lookup per access (a pure-Python count-min sketch costs four hashed table
probes).

A cache may keep the counts of its resident keys on its entries instead (``MemoryTier``
does: admission then compares two attributes, no lookups) and hand a key's count to the
sketch when the key leaves (``put``) and take it back when it returns (``take``). Such a
caller records its own increments with ``record()`` and, when that asks for it, ages its
own counts beside the sketch's (``age``).

A count may carry *tag* bits above its low four bits (``value >> TAG_SHIFT``): the memory
tier marks the keys it remembers as ghosts this way (``GhostList``, below), so that the
one lookup that fetches a returning key's count also finds its ghost. Aging keeps tags (a
tagged key with a count of zero stays), unless the ``keep_tag`` callback drops them.

The aging keeps the dict bounded: it halves every count and drops the keys that reach zero
(untagged); it comes after ``sample_size`` increments, or earlier once more than
``max_keys`` (10 per entry of capacity) keys are held. It visits at most ``max_keys + 1``
keys and keeps only those counted twice or more (or tagged), so it is amortised O(1) per
increment. The dict's identity never changes (aging rewrites it in place), so callers may
keep a reference to ``counts``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["MAX_COUNT", "TAG_SHIFT", "FrequencySketch", "GhostList"]

MAX_COUNT: Final = 15  # also the mask of a value's count bits
TAG_SHIFT: Final = 4
MIN_CAPACITY: Final = 16
SAMPLE_FACTOR: Final = 20  # increments between agings, per entry of capacity (TinyLFU: 10)
KEY_FACTOR: Final = 10  # keys held at most, per entry of capacity (more: an early aging)


def halve(value: int) -> int:
    """A value aged once: its count halved, its tag kept."""
    return ((value >> TAG_SHIFT) << TAG_SHIFT) | ((value & MAX_COUNT) >> 1)


class FrequencySketch:
    """Aging, saturating access counts of keys (exact within the sample window)."""

    __slots__ = ("additions", "capacity", "counts", "max_keys", "resets", "sample_size")

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = 0
        self.counts: dict[str, int] = {}
        self.additions = 0  # increments since the last aging (counted below saturation)
        self.sample_size = 0
        self.max_keys = 0
        self.resets = 0
        self.grow(capacity)

    def grow(self, capacity: int) -> None:
        """Size the sample window (and the key bound) for ``capacity`` entries; counts stay."""
        capacity = max(MIN_CAPACITY, int(capacity))
        if capacity <= self.capacity:
            return
        self.capacity = capacity
        self.sample_size = SAMPLE_FACTOR * capacity
        self.max_keys = KEY_FACTOR * capacity

    def frequency(self, key: str) -> int:
        return self.counts.get(key, 0) & MAX_COUNT

    def increment(self, key: str) -> int:
        """Count one access; returns the key's new count (after an aging, if it caused one)."""
        if self.bump(key):
            self.age()
        return self.frequency(key)

    def bump(self, key: str) -> bool:
        """Count one access without aging; True: time to age (the caller calls ``age``)."""
        counts = self.counts
        value = counts.get(key, 0)
        if value & MAX_COUNT >= MAX_COUNT:
            return False
        counts[key] = value + 1
        self.additions += 1
        return self.additions >= self.sample_size or (not value and len(counts) > self.max_keys)

    def record(self) -> bool:
        """Count one increment made by the caller on its own counts; True: time to age."""
        self.additions += 1
        return self.additions >= self.sample_size

    def take(self, key: str) -> int:
        """Remove and return a key's value (count and tag; 0 if unknown): it became resident."""
        counts = self.counts
        value = counts.get(key, 0)  # get, then del if found: cheaper than pop when compiled
        if value:
            del counts[key]
        return value

    def put(self, key: str, value: int) -> bool:
        """Hold a departing key's value; True: more keys than ``max_keys``, time to age."""
        if not value:
            return False
        counts = self.counts
        counts[key] = value
        return len(counts) > self.max_keys

    def age(self, keep_tag: Callable[[str, int], bool] | None = None) -> None:
        """Halve every count, forgetting the keys that reach zero; ``keep_tag(key, tag)``
        False drops a key's tag (then it too is forgotten when its count reaches zero)."""
        counts = self.counts
        kept: dict[str, int] = {}
        for k, value in counts.items():
            if value > 1:
                aged = halve(value)
                if value > MAX_COUNT and keep_tag is not None and not keep_tag(k, value >> TAG_SHIFT):
                    aged &= MAX_COUNT
                if aged:
                    kept[k] = aged
        counts.clear()
        counts.update(kept)
        self.additions //= 2
        self.resets += 1
        if len(kept) > self.max_keys // 2:  # mostly live tags: aging cannot shrink it, so
            self.max_keys = 2 * len(kept)  # allow more rather than age again at once



class GhostList:
    """A FIFO of evicted keys bounded by bytes (ARC's ghost lists), kept as sizes only.

    ``add`` returns the ghost's index, which the caller stores with the key (the memory
    tier tags the key's count in the sketch with it), so that a returning key costs no
    lookup here: ``remove(index)`` says whether it is still a ghost and takes it out.
    Like a linked FIFO, the oldest ghosts go first once more than ``limit`` bytes are
    held, and a ghost taken out leaves room for older ones. Taken-out ghosts leave holes
    that the front passes over; when holes outnumber ghosts by two to one (keys that
    return fast, as in a loop), the oldest ghosts go early, so the list stays O(ghosts).
    """

    __slots__ = ("base", "count", "head", "limit", "nbytes", "sizes")

    def __init__(self, limit: int = 0) -> None:
        self.sizes: list[int] = []  # by index - base; -1 once taken out
        self.base = 0  # the index of sizes[0]
        self.head = 0  # sizes[head:] may hold ghosts; before it, all are gone
        self.limit = limit
        self.nbytes = 0  # bytes of the ghosts held
        self.count = 0  # ghosts held

    def add(self, size: int) -> int:
        """Remember one ghost of ``size`` bytes; returns its index."""
        sizes = self.sizes
        n = len(sizes)
        index = self.base + n
        sizes.append(size)
        n += 1
        nbytes = self.nbytes + size
        count = self.count + 1
        head = self.head
        limit = self.limit
        while head < n and (nbytes > limit or n - head > 2 * count + 64):
            gone = sizes[head]
            if gone >= 0:
                nbytes -= gone
                count -= 1
            head += 1
        if head >= 64 and 2 * head >= n:  # drop the passed front, amortised O(1)
            del sizes[:head]
            self.base += head
            head = 0
        self.head = head
        self.nbytes = nbytes
        self.count = count
        return index

    def holds(self, index: int) -> bool:
        pos = index - self.base
        return self.head <= pos < len(self.sizes) and self.sizes[pos] >= 0

    def remove(self, index: int) -> int:
        """Take a ghost out; its size, or -1 if the list no longer holds it."""
        pos = index - self.base
        sizes = self.sizes
        if not self.head <= pos < len(sizes):
            return -1
        size = sizes[pos]
        if size < 0:
            return -1
        sizes[pos] = -1
        self.nbytes -= size
        self.count -= 1
        return size

    def clear(self) -> None:
        self.base += len(self.sizes)  # indices handed out are never reused
        self.sizes.clear()
        self.head = 0
        self.nbytes = 0
        self.count = 0
