"""MemoryTier: byte bounds, TTL, W-TinyLFU admission, prefetch flags."""

from __future__ import annotations

import threading
import time

from smartcache_ls.cache.memory import MemoryTier

from .clock import FakeClock


def test_get_set_and_stats() -> None:
    m = MemoryTier(1000)
    assert m.get("a") is None
    assert m.set("a", {"x": [1, 2]}, 10)
    assert m.get("a") == {"x": [1, 2]}
    assert "a" in m and "b" not in m
    s = m.stats()
    assert (s["hits"], s["misses"], s["entries"], s["bytes"], s["maxBytes"]) == (1, 1, 1, 10, 1000)
    assert s["hitRatio"] == 0.5


def test_contains_has_no_stats_side_effect() -> None:
    m = MemoryTier(1000)
    m.set("a", 1, 1)
    assert "a" in m
    assert "zz" not in m
    assert m.stats()["hits"] == 0 and m.stats()["misses"] == 0


def test_bounded_by_bytes() -> None:
    m = MemoryTier(1000)
    for i in range(100):
        m.set(f"k{i}", "v" * 50, 50)
        assert m.stats()["bytes"] <= 1000
    s = m.stats()
    assert s["bytes"] <= 1000
    assert s["entries"] == 20
    assert s["evictions"] == 80
    assert s["evictedBytes"] == 80 * 50


def test_too_large_is_rejected_and_drops_stale_value() -> None:
    m = MemoryTier(100)
    assert m.set("a", "old", 10)
    assert not m.set("a", "new", 101)
    assert m.get("a") is None
    assert m.stats()["rejections"] == 1


def test_update_changes_size_accounting() -> None:
    m = MemoryTier(1000)
    m.set("a", "x", 10)
    m.set("a", "y", 30)
    assert m.stats()["bytes"] == 30 and m.stats()["entries"] == 1
    assert m.get("a") == "y"


def test_ttl_with_injected_clock() -> None:
    clock = FakeClock()
    m = MemoryTier(1000, ttl=10, clock=clock)
    m.set("a", 1, 1)
    clock.now += 9.9
    assert m.get("a") == 1
    clock.now += 0.2
    assert "a" not in m
    assert m.get("a") is None
    s = m.stats()
    assert s["entries"] == 0 and s["expirations"] == 1 and s["misses"] == 1


def test_ttl_with_the_default_clock_uses_the_coarse_clock() -> None:
    from smartcache_ls.cache import memory

    m = MemoryTier(1000, ttl=0.01)
    m.set("a", 1, 1)
    m.set("p", 2, 1, prefetched=True)
    time.sleep(0.05)
    memory._NOW[0] = time.monotonic()  # what the ticker thread does every TICK seconds
    assert m.get("a") is None
    assert m.get("p") is None
    assert m.stats()["expirations"] == 2
    # the ticker keeps the coarse clock moving on its own
    before = memory._NOW[0]
    deadline = time.monotonic() + 10
    while memory._NOW[0] == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert memory._NOW[0] > before


def test_ttl_entry_is_served_until_it_expires() -> None:
    m = MemoryTier(1000, ttl=3600)
    m.set("a", 1, 1)
    m.set("p", 2, 1, prefetched=True)
    assert m.get("a") == 1
    assert m.get("p") == 2 and m.prefetch_stats().used == 1
    assert m.get("p") == 2


def test_delete_prefix_and_clear() -> None:
    m = MemoryTier(10_000)
    for i in range(5):
        m.set(f"ws1/{i}", i, 1)
        m.set(f"ws2/{i}", i, 1)
    assert m.delete("ws1/0")
    assert not m.delete("ws1/0")
    assert m.delete_prefix("ws1/") == 4
    assert all(m.get(f"ws1/{i}") is None for i in range(5))
    assert m.get("ws2/3") == 3
    m.clear()
    assert len(m) == 0 and m.stats()["bytes"] == 0


def _access(m: MemoryTier, key: str) -> bool:
    if m.get(key) is not None:
        return True
    m.set(key, key, 1)
    return False


def test_scan_resistance_hot_set_survives_one_time_scan() -> None:
    m = MemoryTier(100)  # 100 entries of size 1
    hot = [f"hot{i}" for i in range(50)]
    for _ in range(5):
        for k in hot:
            _access(m, k)
    for i in range(900):  # a one-time scan of 9x the capacity
        _access(m, f"scan{i}")
    assert sum(1 for k in hot if k in m) == len(hot)
    assert all(_access(m, k) for k in hot)


def test_scan_resistance_interleaved_scans() -> None:
    """Rounds of (hot set, then 2x capacity of one-time keys): LRU never hits, we keep the hot set."""
    m = MemoryTier(100)
    hot = [f"hot{i}" for i in range(40)]
    hot_hits = 0
    for r in range(20):
        for k in hot:
            hot_hits += _access(m, k)
        for i in range(200):
            _access(m, f"scan{r}-{i}")
    assert hot_hits >= 0.9 * 19 * len(hot)


def test_lru_would_lose_the_hot_set_under_interleaved_scans() -> None:
    """The workload above defeats plain LRU: no hot hit at all."""
    from smartcache_ls.predict.simulate import lru_hits

    hot = [f"hot{i}" for i in range(40)]
    keys = [k for r in range(20) for k in hot + [f"scan{r}-{i}" for i in range(200)]]
    assert lru_hits(keys, 100) == 0


def test_large_entry_does_not_flush_hot_set() -> None:
    m = MemoryTier(1000)
    hot = [f"hot{i}" for i in range(90)]
    for _ in range(4):
        for k in hot:
            if m.get(k) is None:
                m.set(k, k, 10)
    ok = m.set("big", "x" * 900, 900)
    assert not ok
    assert "big" not in m
    assert sum(1 for k in hot if k in m) == len(hot)
    assert m.stats()["bytes"] <= 1000


def test_frequent_newcomer_is_admitted() -> None:
    m = MemoryTier(100)
    for i in range(100):
        m.set(f"old{i}", i, 1)
    for _ in range(5):  # a key that keeps being requested earns admission
        if m.get("new") is None:
            m.set("new", 1, 1)
        for j in range(3):  # push it out of the window
            m.set(f"filler{_}-{j}", 0, 1)
    assert "new" in m


def test_prefetch_accounting() -> None:
    m = MemoryTier(100)
    m.set("p1", 1, 1, prefetched=True)
    m.set("p2", 2, 1, prefetched=True)
    m.set("p3", 3, 1, prefetched=True)
    assert m.get("p1") == 1
    assert m.get("p1") == 1  # second hit is not a second use
    m.delete("p2")  # dropped unused: wasted
    ps = m.prefetch_stats()
    assert (ps.issued, ps.used, ps.wasted) == (3, 1, 1)
    assert ps.accuracy == 1 / 3
    m.clear()  # p3 still flagged
    assert m.prefetch_stats().wasted == 2


def test_prefetched_entry_evicted_counts_wasted() -> None:
    m = MemoryTier(10)
    m.set("p", 1, 1, prefetched=True)
    for i in range(50):
        m.set(f"k{i}", i, 1)
        m.get(f"k{i}")
    assert "p" not in m
    assert m.prefetch_stats().wasted == 1


def test_peek_has_no_side_effects() -> None:
    m = MemoryTier(100)
    m.set("p", 1, 1, prefetched=True)
    assert m.peek("p") == 1
    assert m.prefetch_stats().used == 0
    assert m.stats()["hits"] == 0


def test_is_hot() -> None:
    m = MemoryTier(100)
    m.set("a", 1, 1)
    assert not m.is_hot("a")
    m.get("a")
    assert m.is_hot("a")
    assert not m.is_hot("never")


def test_resize_shrinks() -> None:
    m = MemoryTier(1000)
    for i in range(100):
        m.set(f"k{i}", i, 10)
    m.resize(200)
    assert m.stats()["bytes"] <= 200 and m.max_bytes == 200


def test_concurrent_use_keeps_bounds() -> None:
    m = MemoryTier(500)

    def work(t: int) -> None:
        for i in range(3000):
            k = f"k{(i * 7 + t) % 300}"
            if m.get(k) is None:
                m.set(k, i, 3)
            if i % 100 == 0:
                m.delete(k)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m.maintain()
    s = m.stats()
    assert s["bytes"] <= 500
    assert s["bytes"] == s["windowBytes"] + s["probationBytes"] + s["protectedBytes"]
    assert s["bytes"] == 3 * s["entries"]


def test_internal_bookkeeping_stays_consistent_under_random_use() -> None:
    """Region bytes, resident counts and ghost tags agree with what is stored, whatever the
    mix of sets (of varied sizes), reads, deletes and resizes."""
    import random

    from smartcache_ls.cache.policy import MAX_COUNT, TAG_SHIFT

    rng = random.Random(7)
    m = MemoryTier(300)
    for step in range(30_000):
        key = f"k{int(rng.paretovariate(1.2)) % 400}"
        r = rng.random()
        if r < 0.5:
            m.get(key)
        elif r < 0.9:
            m.set(key, step, rng.choice((1, 1, 2, 5, 40)), prefetched=rng.random() < 0.1)
        elif r < 0.97:
            m.delete(key)
        elif r < 0.98:
            m.resize(rng.choice((100, 300, 500)))
        else:
            m.maintain()
        if step % 1000 == 0 or step == 29_999:
            m.maintain()
            st = m.stats()
            regions = st["windowBytes"] + st["probationBytes"] + st["protectedBytes"]
            assert regions == st["bytes"] <= m.max_bytes
            # each region's list links both ways, holds its own entries and sums to its bytes;
            # together the lists hold exactly the stored keys
            listed: list[str] = []
            for name, sentinel in (
                ("windowBytes", m._window),
                ("probationBytes", m._probation),
                ("protectedBytes", m._protected),
            ):
                e, nbytes = sentinel.newer, 0
                while e is not sentinel:
                    assert e.newer.older is e and e.older.newer is e
                    assert e.region == sentinel.region
                    listed.append(e.key)
                    nbytes += e.size
                    e = e.newer
                assert nbytes == st[name]
            assert sorted(listed) == sorted(m.keys())
            counts = m._sketch.counts
            resident = m.keys()
            assert not set(counts) & set(resident)  # a resident key's count is on its entry
            tags = [v >> TAG_SHIFT for v in counts.values()]
            for gl, tag in ((m._ghost_window, 1), (m._ghost_main, 2)):
                assert sum(1 for t in tags if t & 3 == tag and gl.holds(t >> 2)) == gl.count
                assert gl.nbytes == sum(s for s in gl.sizes[gl.head :] if s >= 0)
            assert all(0 <= m.frequency(k) <= MAX_COUNT for k in resident)


def test_values_leave_memory_when_their_entries_leave_without_waiting_for_gc() -> None:
    """The region lists link entries both ways; an entry that leaves (evicted, rejected,
    deleted, cleared) must not stay in a reference cycle holding its value until a GC."""
    import gc
    import weakref

    class Value:
        pass

    gc.disable()
    try:
        m = MemoryTier(20)
        values = [Value() for _ in range(60)]
        refs = [weakref.ref(v) for v in values]
        for i, v in enumerate(values):
            m.set(f"k{i}", v, 1)
        big = Value()
        big_ref = weakref.ref(big)
        # larger than the window: a direct candidate for main, which loses admission
        assert not m.set("big", big, 15)
        m.delete(m.keys()[0])
        del values, v, big
        assert big_ref() is None
        alive = {i for i, r in enumerate(refs) if r() is not None}
        stored = m.keys()  # (a list: MemoryTier is not iterable)
        assert alive == {int(k[1:]) for k in stored}  # exactly the stored ones
        assert 0 < len(alive) <= 20
        m.clear()
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_entry_bytes_covers_the_tiers_own_bookkeeping() -> None:
    """footprint() charges what an entry really holds: tracemalloc's count of what a full tier
    allocates beyond its values and keys stays within ENTRY_BYTES per entry (and near it)."""
    import gc
    import sys
    import tracemalloc

    from smartcache_ls.cache.memory import ENTRY_BYTES, footprint

    for n in (1_000, 22_000, 87_500):  # 87,382 entries: just after a dict resize
        keys = [f"0123456789abcdef:a:src/pkg/module_{i}.py" for i in range(n)]
        values = [b"x" * 100 + str(i).encode() for i in range(n)]
        tier = MemoryTier(1 << 40)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for key, value in zip(keys, values, strict=True):
                tier.set(key, value, footprint(key, value))
            tier.maintain()
            per_entry = (tracemalloc.get_traced_memory()[0] - before) / n
        finally:
            tracemalloc.stop()
        assert 0.5 * ENTRY_BYTES < per_entry <= ENTRY_BYTES, (n, per_entry)
        charged = tier.stats()["bytes"]
        assert charged == sum(
            sys.getsizeof(k) + sys.getsizeof(v) + ENTRY_BYTES for k, v in zip(keys, values, strict=True)
        )
