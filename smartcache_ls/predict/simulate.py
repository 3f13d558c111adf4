"""Cache simulations over a sequence of file accesses (equal-sized entries, counted in files).

* :func:`lru_hits` — demand LRU.
* :func:`opt_hits` — Belady's OPT, the best any demand cache of that size can do.
* :func:`compulsory_ceiling` — 1 - distinct/accesses: no demand cache of any size beats it.
* :func:`prefetch_lru` — LRU that, after each access, also loads the predicted next files.

``size=None`` means unbounded.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import attrs


def lru_hits(accesses: Sequence[str], size: int | None) -> int:
    cache: OrderedDict[str, None] = OrderedDict()
    hits = 0
    for key in accesses:
        if key in cache:
            hits += 1
            cache.move_to_end(key)
            continue
        cache[key] = None
        if size is not None and len(cache) > size:
            cache.popitem(last=False)
    return hits


def opt_hits(accesses: Sequence[str], size: int | None) -> int:
    """Belady: on a miss with a full cache evict the entry whose next use is farthest away."""
    n = len(accesses)
    if size is None:
        return n - len(set(accesses))
    if size <= 0:
        return 0
    next_use = [n] * n
    last: dict[str, int] = {}
    for i in range(n - 1, -1, -1):
        next_use[i] = last.get(accesses[i], n + i)  # never again: distinct "infinities"
        last[accesses[i]] = i
    cache: dict[str, int] = {}  # key -> its next use
    heap: list[tuple[int, str]] = []  # (-next use, key), lazily invalidated
    hits = 0
    for i, key in enumerate(accesses):
        if key in cache:
            hits += 1
        elif len(cache) >= size:
            while True:
                neg, victim = heapq.heappop(heap)
                if cache.get(victim) == -neg:
                    del cache[victim]
                    break
        cache[key] = next_use[i]
        heapq.heappush(heap, (-next_use[i], key))
    return hits


def compulsory_ceiling(accesses: Sequence[str]) -> float:
    if not accesses:
        return 0.0
    return 1.0 - len(set(accesses)) / len(accesses)


@attrs.define
class PrefetchResult:
    accesses: int = 0
    hits: int = 0
    issued: int = 0
    used: int = 0
    wasted: int = 0

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.accesses if self.accesses else 0.0

    @property
    def accuracy(self) -> float:
        return self.used / self.issued if self.issued else 0.0


def prefetch_lru(
    accesses: Sequence[str],
    predictions: Sequence[Sequence[tuple[str, float]]],
    size: int | None,
    k: int = 5,
    threshold: float = 0.0,
) -> PrefetchResult:
    """LRU with prefetch: after access ``i``, load ``predictions[i]`` (best first).

    Up to ``k`` predictions with probability >= ``threshold`` are loaded; ones
    already cached are moved to the most-recently-used end, the others are
    inserted there and count as *issued*. They are inserted best last, so the
    best prediction is the most recent entry; the file just accessed is never
    pushed out by its own prefetches (at most ``size - 1`` are taken). A
    prefetched entry's first demand hit counts as *used*; evicted unused, *wasted*.
    """
    cache: OrderedDict[str, bool] = OrderedDict()  # key -> prefetched and not yet used
    res = PrefetchResult()

    def insert(key: str, prefetched: bool) -> None:
        cache[key] = prefetched
        cache.move_to_end(key)
        if size is not None and len(cache) > size:
            _, unused = cache.popitem(last=False)
            if unused:
                res.wasted += 1

    limit = k if size is None else max(0, min(k, size - 1))
    for i, key in enumerate(accesses):
        res.accesses += 1
        if key in cache:
            res.hits += 1
            if cache[key]:
                res.used += 1
            cache[key] = False
            cache.move_to_end(key)
        else:
            insert(key, False)
        if i >= len(predictions) or limit == 0:
            continue
        chosen = [p for p, prob in predictions[i] if p != key and prob >= threshold][:limit]
        for path in reversed(chosen):
            if path in cache:
                cache.move_to_end(path)
            else:
                res.issued += 1
                insert(path, True)
    return res


def cache_report(
    accesses: Sequence[str],
    predictions: Sequence[Sequence[tuple[str, float]]],
    size: int | None,
    k: int = 5,
    threshold: float = 0.0,
) -> dict[str, Any]:
    """All figures for one cache size, JSON-able (raw counts kept so totals can be pooled)."""
    n = len(accesses)
    lru = lru_hits(accesses, size)
    opt = opt_hits(accesses, size)
    pre = prefetch_lru(accesses, predictions, size, k, threshold)
    return {
        "size": size,
        "accesses": n,
        "distinct": len(set(accesses)),
        "lruHits": lru,
        "optHits": opt,
        "prefetchHits": pre.hits,
        "issued": pre.issued,
        "used": pre.used,
        "wasted": pre.wasted,
        **derive_cache(n, len(set(accesses)), lru, opt, pre.hits, pre.issued, pre.used),
    }


def derive_cache(
    n: int, distinct: int, lru: int, opt: int, hits: int, issued: int, used: int
) -> dict[str, float]:
    lru_misses = n - lru
    return {
        "lru": lru / n if n else 0.0,
        "opt": opt / n if n else 0.0,
        "compulsory": 1.0 - distinct / n if n else 0.0,
        "prefetch": hits / n if n else 0.0,
        "prefetchAccuracy": used / issued if issued else 0.0,
        "coverage": (lru_misses - (n - hits)) / lru_misses if lru_misses else 0.0,
    }
