"""In-process memory tier: bounded by bytes, TTL, adaptive W-TinyLFU admission and eviction.

Layout (Caffeine's W-TinyLFU, size-aware, with an ARC-style adaptive window):

* a *window* LRU takes every new entry;
* the *main* region is a segmented LRU: *probation* (arrivals from the window) and
  *protected* (entries hit again while in probation, 80% of main);
* when the window overflows, its LRU entry becomes a candidate for main; if main has
  no room, the candidate is admitted only if its frequency beats every victim it would
  displace (so a one-time scan, or one large entry, cannot flush the hot set); an entry
  larger than the window is such a candidate at once (``set`` then returns False if it
  loses);
* frequencies are aging, saturating access counts (exact counts over TinyLFU's sample
  window): a resident key's count lives on its entry (admission compares two attributes),
  a departed key's count in ``policy.FrequencySketch``, which hands it back when the key
  returns;
* the window's size adapts like ARC's target (Megiddo & Modha 2003): a miss on a key
  that admission recently rejected (a window ghost) grows the window (recency pays on
  this workload); a miss on a key main recently evicted (a main ghost) shrinks it
  (frequency pays). It starts at half the bytes and moves between 1% and all of them;
  while it is above ``TIE_WINDOW``, frequency ties go to the newcomer. The ghost lists
  (``policy.GhostList``) are FIFOs bounded by bytes that hold sizes only; a ghost's key
  carries a tag (its list and index there) on its count in the sketch, so the one lookup
  that fetches a returning key's count finds its ghost too.

Each region is an intrusive doubly-linked list through its entries (``older``/``newer``
around a sentinel entry per region), oldest first: moving, adding and evicting an entry
rewrite a few attributes, where an OrderedDict would hash the key again each time.

The read path is lock-free: a dict lookup, one comparison of the entry's deadline with a
coarse clock (a float a daemon thread refreshes every ``TICK`` seconds; with the default
clock an entry can be served up to ``TICK`` s past its TTL, with an injected clock every
read checks it exactly) and an append of the key to a bounded, lossy read buffer. The
buffer is replayed into the sketch and the LRU orders under the lock by the next write
(or ``maintain()``), as in Caffeine. Values are stored as given (not copied): treat them
as immutable.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from .policy import MAX_COUNT, TAG_SHIFT, FrequencySketch, GhostList
from .stats import PrefetchStats, StatsCounter

__all__ = ["ENTRY_BYTES", "MemoryTier", "footprint"]

WINDOW: Final = 0
PROBATION: Final = 1
PROTECTED: Final = 2
# ghosts: a departed key's tag in the sketch is (index in its ghost list << 2) | list
NO_GHOST: Final = 0
GHOST_WINDOW: Final = 1
GHOST_MAIN: Final = 2
READ_BUFFER = 256  # reads recorded between writes; later ones are counted but not replayed
# adaptive window (tuned on bench/hit_ratio.py's traces; see its report)
INITIAL_WINDOW = 0.5  # the window starts at this fraction of max_bytes, then adapts
GHOST_WINDOW_LIMIT = 0.5  # window ghosts remembered, as a fraction of max_bytes
GHOST_MAIN_LIMIT = 1.0  # main ghosts remembered, as a fraction of max_bytes
GROW_GAIN = 0.7  # growth per window-ghost hit: entry size x ARC's ghost ratio x this
SHRINK_GAIN = 1.0  # shrink per main-ghost hit: max(entry size, 1% of the window) x ratio x this
SHRINK_FRACTION = 0.01
TIE_WINDOW = 0.7  # above this window fraction, frequency ties are admitted (recency pays)


# What the tier itself holds per entry beside the value and the key: the _Entry object (GC
# header included) and the entry's share of the key dict (its slot, the index, the spare room a
# dict keeps after growing). tests/cache/test_memory.py measures it with tracemalloc.
ENTRY_BYTES: Final = 208

_INF = float("inf")
TICK = 0.25  # seconds between updates of the coarse clock
_NOW = [time.monotonic()]  # the coarse clock: time.monotonic() as of at most TICK ago
_ticker: threading.Thread | None = None
_ticker_lock = threading.Lock()


def _tick() -> None:
    now, mono, sleep = _NOW, time.monotonic, time.sleep
    while True:
        now[0] = mono()
        sleep(TICK)


def _start_ticker() -> None:
    """One daemon thread per process keeps _NOW fresh (started by the first TTL tier)."""
    global _ticker
    with _ticker_lock:
        if _ticker is None or not _ticker.is_alive():
            _ticker = threading.Thread(target=_tick, name="smartcache-clock", daemon=True)
            _ticker.start()


def _after_fork() -> None:
    global _ticker
    if _ticker is not None:
        _ticker = None
        _start_ticker()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class _Entry:
    """A stored value and its place in its region's list (a region's sentinel is one too)."""

    __slots__ = (
        "deadline",
        "expires",
        "freq",
        "key",
        "newer",
        "older",
        "prefetched",
        "region",
        "size",
        "value",
    )

    def __init__(
        self,
        key: str,
        value: Any,
        size: int,
        expires: float | None,
        prefetched: bool,
        coarse: bool,
    ) -> None:
        self.key = key
        self.value = value
        self.size = size
        # (assigned here, not through set_expiry: attributes __init__ assigns itself are
        # always defined for mypyc, which then needs no definedness bitmap or checks)
        self.expires = expires
        self.prefetched = prefetched
        self.deadline = _deadline(expires, prefetched, coarse)
        self.region = WINDOW
        self.freq = 0  # the key's recent access count (TinyLFU's, while it is resident)
        # neighbours in the region's list; a sentinel (an empty list) points to itself
        self.older = self
        self.newer = self

    def set_expiry(self, expires: float | None, prefetched: bool, coarse: bool) -> None:
        self.expires = expires
        self.prefetched = prefetched
        self.deadline = _deadline(expires, prefetched, coarse)


def _deadline(expires: float | None, prefetched: bool, coarse: bool) -> float:
    """An entry's deadline: the one test on every read, against the coarse clock. inf: never
    expires; -inf: always look closer (an unused prefetch, a TTL with a custom clock)."""
    if prefetched or (expires is not None and not coarse):
        return -_INF
    return _INF if expires is None else expires


def footprint(key: str, value: object) -> int:
    """The bytes an entry of ``value`` (bytes, or another flat object) under ``key`` holds in the
    process: the value object, the key string and the tier's bookkeeping. What a budget of
    real memory charges it."""
    return sys.getsizeof(value) + sys.getsizeof(key) + ENTRY_BYTES


def _sentinel(region: int) -> _Entry:
    """The head of an empty region list: its ``newer`` is the oldest entry, ``older`` the newest."""
    s = _Entry("", None, 0, None, False, False)
    s.region = region
    return s


def _append(s: _Entry, e: _Entry) -> None:
    """Link ``e`` as the newest entry of the list ``s`` heads."""
    last = s.older
    e.older = last
    e.newer = s
    last.newer = e
    s.older = e


def _unlink(e: _Entry) -> None:
    """Take ``e`` out of its list (its own links stay: nothing points back to it)."""
    older = e.older
    newer = e.newer
    older.newer = newer
    newer.older = older


class MemoryTier:
    """A thread-safe, byte-bounded W-TinyLFU cache of JSON-able values."""

    # slots: more than ~30 instance attributes would spill CPython's shared-key instance
    # dict and slow every attribute access on the read path by ~10%
    __slots__ = (
        "__weakref__",
        "_acquire",
        "_adaptive",
        "_clock",
        "_coarse",
        "_counter",
        "_data",
        "_evicted_bytes",
        "_evictions",
        "_expirations",
        "_ghost_main",
        "_ghost_window",
        "_hits",
        "_issued",
        "_lock",
        "_max_bytes",
        "_max_protected",
        "_max_window",
        "_min_window",
        "_misses",
        "_probation",
        "_probation_bytes",
        "_protected",
        "_protected_bytes",
        "_protected_fraction",
        "_reads",
        "_rejections",
        "_release",
        "_sketch",
        "_tie",
        "_ttl",
        "_used",
        "_wasted",
        "_window",
        "_window_bytes",
        "_window_fraction",
        "_window_target",
    )

    def __init__(
        self,
        max_bytes: int,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        window_fraction: float = 0.01,
        protected_fraction: float = 0.8,
        adaptive: bool = True,
    ) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self._ttl = ttl if ttl and ttl > 0 else None
        self._clock = clock
        # with the default clock, reads test TTLs against a coarse clock (no call per read);
        # entries may then be served up to TICK seconds past their TTL
        self._coarse = self._ttl is not None and clock is time.monotonic
        if self._coarse:
            _start_ticker()
        self._lock = threading.Lock()
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._data: dict[str, _Entry] = {}
        # the regions' lists, oldest first (sentinels: empty when they point to themselves)
        self._window = _sentinel(WINDOW)
        self._probation = _sentinel(PROBATION)
        self._protected = _sentinel(PROTECTED)
        self._window_bytes = 0
        self._probation_bytes = 0
        self._protected_bytes = 0
        self._reads: list[str] = []
        self._window_fraction = window_fraction
        self._protected_fraction = protected_fraction
        self._adaptive = adaptive
        self._sketch = FrequencySketch(min(max(max_bytes, 16), 1024))
        # recent admission rejections and main's victims (sizes only; keys carry tags)
        self._ghost_window = GhostList()
        self._ghost_main = GhostList()
        self._evictions = 0
        self._evicted_bytes = 0
        self._counter = StatsCounter()
        self._hits = 0  # hits replayed from the read buffer (plus len(self._reads) pending)
        self._misses = 0
        self._issued = 0
        self._used = 0
        self._wasted = 0
        self._rejections = 0
        self._expirations = 0
        self._max_bytes = 0
        self._max_window = 0
        self._window_target = 0.0
        self._min_window = 0
        self._max_protected = 0
        self._tie = 0
        self._set_limits(max_bytes)

    # limits -----------------------------------------------------------------
    def _set_limits(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._ghost_window.limit = int(max_bytes * GHOST_WINDOW_LIMIT)
        self._ghost_main.limit = int(max_bytes * GHOST_MAIN_LIMIT)
        self._min_window = max(1, int(max_bytes * self._window_fraction))
        self._set_window(max_bytes * INITIAL_WINDOW)

    def _set_window(self, window: float) -> None:
        target = min(max(window, self._min_window), max(self._max_bytes, 1))
        self._window_target = target
        self._max_window = int(target)
        # while recency pays (a large window), ties in frequency go to the newcomer
        self._tie = 1 if target > TIE_WINDOW * self._max_bytes else 0
        self._max_protected = int((self._max_bytes - self._max_window) * self._protected_fraction)

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def ttl(self) -> float | None:
        return self._ttl

    def resize(self, max_bytes: int) -> None:
        """Change the byte bound; shrinking evicts at once."""
        with self._lock:
            self._set_limits(max(0, max_bytes))
            self._drain_reads()
            self._evict()

    # reads --------------------------------------------------------------------
    def get(self, key: str) -> Any | None:
        """The value, or None on a miss or an expired entry; counts a hit or a miss."""
        e = self._data.get(key)
        if e is None:
            self._misses += 1
            return None
        if e.deadline <= _NOW[0]:  # expired by the coarse clock, or needs a closer look
            if e.expires is not None and e.expires <= self._clock():
                self._expire(e)
                self._misses += 1
                return None
            if e.prefetched:
                self._mark_used(e)
        reads = self._reads
        if len(reads) < 256:  # READ_BUFFER (a literal: this is the hot path)
            reads.append(key)
        else:
            self._hits += 1
        return e.value

    def peek(self, key: str) -> Any | None:
        """The value without any side effect (no stats, no recency, no prefetch use)."""
        e = self._data.get(key)
        if e is None:
            return None
        if e.expires is not None and e.expires <= self._clock():
            return None
        return e.value

    def __contains__(self, key: object) -> bool:
        e = self._data.get(key) if isinstance(key, str) else None
        return e is not None and (e.expires is None or e.expires > self._clock())

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[str]:
        return list(self._data)

    def _mark_used(self, e: _Entry) -> None:
        with self._lock:
            if e.prefetched:
                e.set_expiry(e.expires, False, self._coarse)
                self._used += 1

    def _expire(self, e: _Entry) -> None:
        with self._lock:
            if self._data.get(e.key) is e:
                self._expirations += 1
                self._remove(e)

    # writes -------------------------------------------------------------------
    def set(self, key: str, value: Any, size: int, *, prefetched: bool = False) -> bool:
        """Store a value of ``size`` bytes. False if it was rejected (too large, not admitted)."""
        # the lock's bound methods: cheaper than `with` (no __enter__/__exit__ lookups)
        self._acquire()
        try:
            if self._reads:
                self._drain_reads()
            data = self._data
            old: _Entry | None = data.get(key)
            if old is not None:
                if size == old.size and not (prefetched or old.prefetched or self._ttl):
                    old.value = value  # an update in place: same size, no TTL, no prefetch
                    old.expires = None
                    old.deadline = _INF
                    return True
                return self._set_other(key, value, size, prefetched, old)
            if prefetched or not 0 <= size <= self._max_window:
                return self._set_other(key, value, size, prefetched, None)
            # the common case, kept flat: a new, ordinary entry enters the window
            ttl = self._ttl
            expires = None if ttl is None else self._clock() + ttl
            e = _Entry(key, value, size, expires, False, self._coarse)
            e.freq = self._arrive(key, size)
            data[key] = e
            _append(self._window, e)
            self._window_bytes += size
            if (
                self._window_bytes > self._max_window
                or self._window_bytes + self._probation_bytes + self._protected_bytes > self._max_bytes
            ):
                self._evict()
            if len(data) > self._sketch.capacity:
                self._grow_sketch()
            return True
        finally:
            self._release()

    def _set_other(
        self, key: str, value: Any, size: int, prefetched: bool, old: _Entry | None
    ) -> bool:
        """set() for updates, prefetched entries and entries too large for the window (locked)."""
        if prefetched:
            self._issued += 1
        if size > self._max_bytes or size < 0:
            if old is not None:  # a stale older value must not survive a rejected update
                self._remove(old)
            if prefetched:
                self._wasted += 1
            self._rejections += 1
            return False
        expires = None if self._ttl is None else self._clock() + self._ttl
        if old is not None:
            # replace in place (not counted as an access: reads are what show use)
            if old.prefetched:
                self._wasted += 1
            grew = size > old.size
            if size != old.size:
                self._resize_entry(old, size)
            old.value = value
            old.set_expiry(expires, prefetched, self._coarse)
            if grew:
                self._evict()
        else:
            e = _Entry(key, value, size, expires, prefetched, self._coarse)
            e.freq = self._arrive(key, size)
            self._data[key] = e
            if size > self._max_window:  # would flush the window: a direct candidate for main
                e.older = e.newer = self._window  # (in no list yet; no cycle through itself)
                self._admit(e)
            else:
                _append(self._window, e)
                self._window_bytes += size
            self._evict()
            if len(self._data) > self._sketch.capacity:
                self._grow_sketch()
        if key in self._data:
            return True
        self._rejections += 1
        return False

    def delete(self, key: str) -> bool:
        with self._lock:
            e = self._data.get(key)
            if e is None:
                return False
            self._remove(e)
            return True

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [e for k, e in self._data.items() if k.startswith(prefix)]
            for e in doomed:
                self._remove(e)
            return len(doomed)

    def clear(self) -> None:
        """Drop every entry (unused prefetched entries count as wasted); keeps their counts."""
        with self._lock:
            self._drain_reads()
            for e in self._data.values():
                if e.prefetched:
                    self._wasted += 1
                self._depart(e, NO_GHOST)
                e.older = e.newer = self._window  # break the lists' cycles now, not at a GC
            self._data.clear()
            for s in (self._window, self._probation, self._protected):
                s.older = s.newer = s
            self._window_bytes = self._probation_bytes = self._protected_bytes = 0

    def maintain(self) -> None:
        """Replay buffered reads into the policy now (otherwise done by the next write)."""
        with self._lock:
            self._drain_reads()

    # policy -------------------------------------------------------------------
    def frequency(self, key: str) -> int:
        """Recent access count, after replaying buffered reads."""
        with self._lock:
            self._drain_reads()
            e = self._data.get(key)
            return self._sketch.frequency(key) if e is None else e.freq

    def is_hot(self, key: str, threshold: int = 2) -> bool:
        """Was the key accessed (stored or hit) at least ``threshold`` times recently?"""
        return self.frequency(key) >= threshold

    def _grow_sketch(self) -> None:
        """More entries than the sketch was sized for: a longer sample window."""
        self._sketch.grow(2 * len(self._data))

    def _arrive(self, key: str, size: int) -> int:
        """Count a store of a key that is not resident; its count, from the sketch, plus one.
        A ghost returning adapts the window."""
        value = self._sketch.take(key)
        n = value & MAX_COUNT
        if value > MAX_COUNT:
            self._adapt(value >> TAG_SHIFT, size)
        if n < MAX_COUNT:
            n += 1
            if self._sketch.record():
                self._age()
                n >>= 1
        return n

    def _count_read(self, key: str, e: _Entry | None) -> None:
        """Count a replayed read: on the entry of a resident key, else in the sketch."""
        if e is None:
            if self._sketch.bump(key):
                self._age()
        elif e.freq < MAX_COUNT:
            e.freq += 1
            if self._sketch.record():
                self._age()

    def _depart(self, e: _Entry, ghost: int) -> None:
        """A key left the cache: the sketch keeps its count, tagged if it is now a ghost."""
        value = e.freq
        if ghost and self._adaptive:
            index = self._ghost_list(ghost).add(e.size)
            value |= ((index << 2) | ghost) << TAG_SHIFT
        if self._sketch.put(e.key, value):
            self._age()

    def _ghost_list(self, tag: int) -> GhostList:
        """The ghost list a tag (or a bare GHOST_WINDOW / GHOST_MAIN) names."""
        return self._ghost_window if tag & 3 == GHOST_WINDOW else self._ghost_main

    def _age(self) -> None:
        """TinyLFU's aging: halve every count, resident and departed; forget the tags of
        ghosts their lists no longer hold."""
        self._sketch.age(lambda _key, tag: self._ghost_list(tag).holds(tag >> 2))
        for e in self._data.values():
            e.freq >>= 1

    def _add_bytes(self, region: int, delta: int) -> None:
        if region == WINDOW:
            self._window_bytes += delta
        elif region == PROBATION:
            self._probation_bytes += delta
        else:
            self._protected_bytes += delta

    def _resize_entry(self, e: _Entry, size: int) -> None:
        self._add_bytes(e.region, size - e.size)
        e.size = size

    def _remove(self, e: _Entry, evicted: bool = False) -> None:
        del self._data[e.key]
        _unlink(e)
        self._add_bytes(e.region, -e.size)
        if evicted:
            self._evicted(e, GHOST_WINDOW if e.region == WINDOW else GHOST_MAIN)
        else:
            if e.prefetched:
                self._wasted += 1
            self._depart(e, NO_GHOST)

    def _evicted(self, e: _Entry, ghost: int) -> None:
        """Count an eviction (of an unused prefetch: a wasted one too); the key becomes a ghost."""
        if e.prefetched:
            self._wasted += 1
        self._evictions += 1
        self._evicted_bytes += e.size
        self._depart(e, ghost)

    def _touch(self, e: _Entry) -> None:
        r = e.region
        _unlink(e)
        if r == WINDOW:
            _append(self._window, e)
        elif r == PROTECTED:
            _append(self._protected, e)
        else:  # probation hit: promote to protected, demote protected's LRU if over
            self._probation_bytes -= e.size
            e.region = PROTECTED
            protected = self._protected
            _append(protected, e)
            self._protected_bytes += e.size
            # while over and holding two or more (its oldest is not its newest)
            while self._protected_bytes > self._max_protected and protected.newer is not protected.older:
                d = protected.newer
                _unlink(d)
                self._protected_bytes -= d.size
                d.region = PROBATION
                _append(self._probation, d)
                self._probation_bytes += d.size

    def _drain_reads(self) -> None:
        reads = self._reads
        if not reads:
            return
        self._reads = []
        self._hits += len(reads)
        data = self._data
        for key in reads:
            e = data.get(key)
            self._count_read(key, e)
            if e is not None:
                self._touch(e)

    def _evict(self) -> None:
        """Restore the bounds: window overflow -> candidates for main -> TinyLFU admission."""
        window = self._window
        probation = self._probation
        data = self._data
        while self._window_bytes > self._max_window and window.newer is not window:
            cand = window.newer  # the window's oldest
            _unlink(cand)
            csize = cand.size
            self._window_bytes -= csize
            room = self._max_bytes - self._window_bytes - self._probation_bytes - self._protected_bytes
            if csize <= room:  # main has room
                cand.region = PROBATION
                _append(probation, cand)
                self._probation_bytes += csize
                continue
            victim = probation.newer  # probation's oldest (the sentinel itself if it is empty)
            if victim is probation or victim.size < csize - room:
                self._admit(cand)  # several victims, or none in probation
                continue
            # the common case, kept flat: one probation victim against one candidate
            if cand.freq > victim.freq - self._tie:
                _unlink(victim)  # victim out, candidate in as probation's newest
                del data[victim.key]
                self._probation_bytes -= victim.size - csize
                cand.region = PROBATION
                _append(probation, cand)
                self._evicted(victim, GHOST_MAIN)
            else:
                del data[cand.key]
                self._evicted(cand, GHOST_WINDOW)
        # anything still over (shrunk bound, grown updates, a grown window): LRU order, main first
        total = self._window_bytes + self._probation_bytes + self._protected_bytes
        while total > self._max_bytes:
            e = probation.newer
            if e is probation:
                e = self._protected.newer
                if e is self._protected:
                    e = window.newer
                    if e is window:
                        break
            self._remove(e, evicted=True)
            total -= e.size

    def _adapt(self, tag: int, size: int) -> None:
        """ARC-style target: a miss on a key the window's admission rejected grows the window
        (recency pays); a miss on a key main evicted shrinks it (frequency pays)."""
        if not self._adaptive or self._ghost_list(tag).remove(tag >> 2) < 0:
            return  # a stale tag: the list no longer holds the ghost
        gw, gm = self._ghost_window.nbytes, self._ghost_main.nbytes
        if tag & 3 == GHOST_WINDOW:
            ratio = gm / max(gw, 1)
            self._set_window(self._window_target + GROW_GAIN * max(size, 1) * max(1.0, ratio))
        else:
            ratio = gw / max(gm, 1)
            step = max(size, 1, SHRINK_FRACTION * self._window_target)  # large windows shrink faster
            self._set_window(self._window_target - SHRINK_GAIN * step * max(1.0, ratio))

    def _admit(self, cand: _Entry) -> bool:
        """Move a candidate (in no region) into probation if main has room or it beats the
        frequency of every victim it would displace; otherwise drop it."""
        room = self._max_bytes - self._window_bytes - self._probation_bytes - self._protected_bytes
        if cand.size > room:
            need = cand.size - room
            cf = cand.freq
            victims: list[_Entry] = []
            freed = 0
            beaten = True
            for region in (self._probation, self._protected):
                ve = region.newer
                while ve is not region:  # oldest first
                    if cf <= ve.freq - self._tie:
                        beaten = False
                        break
                    victims.append(ve)
                    freed += ve.size
                    if freed >= need:
                        break
                    ve = ve.newer
                if freed >= need or not beaten:
                    break
            if not beaten or freed < need:
                del self._data[cand.key]  # rejected
                self._evicted(cand, GHOST_WINDOW)
                return False
            for ve in victims:
                self._remove(ve, evicted=True)
        cand.region = PROBATION
        _append(self._probation, cand)
        self._probation_bytes += cand.size
        return True

    # stats --------------------------------------------------------------------
    def prefetch_stats(self) -> PrefetchStats:
        return PrefetchStats(self._issued, self._used, self._wasted, self._misses)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            entries = len(self._data)
            nbytes = self._window_bytes + self._probation_bytes + self._protected_bytes
            self._counter.hits = self._hits + len(self._reads)
            self._counter.misses = self._misses
            self._counter.evictions = self._evictions
            self._counter.evicted_bytes = self._evicted_bytes
            out = self._counter.snapshot(entries, nbytes).as_dict()
            out.update(
                {
                    "maxBytes": self._max_bytes,
                    "rejections": self._rejections,
                    "expirations": self._expirations,
                    "policy": "w-tinylfu (adaptive window)" if self._adaptive else "w-tinylfu",
                    "windowBytes": self._window_bytes,
                    "windowMaxBytes": self._max_window,
                    "probationBytes": self._probation_bytes,
                    "protectedBytes": self._protected_bytes,
                }
            )
            return out

    def reset_stats(self) -> None:
        with self._lock:
            self._drain_reads()
            self._counter.reset()
            self._hits = self._misses = 0
            self._evictions = self._evicted_bytes = 0
            self._issued = self._used = self._wasted = 0
            self._rejections = self._expirations = 0
