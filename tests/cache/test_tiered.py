"""TieredCache: promotion, write-behind visibility, single-flight, invalidation, prefetch accounting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartcache_ls.cache import MemoryTier, SqliteTier, TieredCache


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[TieredCache]:
    c = TieredCache(MemoryTier(1_000_000), SqliteTier(tmp_path / "c.db", 10_000_000))
    yield c
    c.close()


def test_memory_only_cache_works() -> None:
    c = TieredCache(MemoryTier(1000))
    c.put("a", b"1")
    assert c.get("a") == (b"1", "memory")
    c.invalidate("a")
    assert c.get("a") is None
    assert set(c.stats()["tiers"]) == {"memory"}
    c.close()


def test_promotion_from_sqlite(cache: TieredCache) -> None:
    cache.put("a", b'{"x":1}')
    assert cache.get("a") == (b'{"x":1}', "memory")
    cache.flush()
    cache.clear("memory")
    assert "a" not in cache.memory
    assert cache.get("a") == (b'{"x":1}', "sqlite")  # the same bytes, not decoded on the way
    assert "a" in cache.memory
    assert cache.get("a") == (b'{"x":1}', "memory")


def test_reads_see_queued_writes(tmp_path: Path) -> None:
    sqlite = SqliteTier(tmp_path / "c.db", 10_000_000)
    cache = TieredCache(MemoryTier(1_000_000), sqlite)
    gate = threading.Event()
    real_apply = sqlite.apply

    def slow_apply(ops: Any) -> int:
        gate.wait(10)
        return real_apply(ops)

    sqlite.apply = slow_apply  # type: ignore[method-assign]
    cache.put("a", b"[1,2,3]")
    cache.memory.clear()
    assert sqlite.get("a") is None  # not on disk yet
    assert cache.get("a") == (b"[1,2,3]", "sqlite")  # but visible
    cache.invalidate("a")
    cache.memory.clear()
    assert cache.get("a") is None  # a queued deletion hides the queued write
    gate.set()
    cache.flush()
    assert sqlite.get("a") is None
    cache.close()


def test_queued_delete_hides_value_on_disk(tmp_path: Path) -> None:
    sqlite = SqliteTier(tmp_path / "c.db", 10_000_000)
    cache = TieredCache(MemoryTier(1_000_000), sqlite)
    cache.put("a", b'"old"')
    cache.flush()
    gate = threading.Event()
    real_apply = sqlite.apply
    sqlite.apply = lambda ops: (gate.wait(10), real_apply(ops))[1]  # type: ignore[method-assign]
    cache.invalidate("a")
    assert sqlite.get("a") == "old"  # still on disk (SqliteTier.get decodes)
    assert cache.get("a") is None  # never served after invalidate
    cache.invalidate_prefix("")
    cache.put("b", b'"new"')
    cache.memory.clear()
    assert cache.get("b") == (b'"new"', "sqlite")  # written after the prefix deletion: visible
    gate.set()
    cache.close()


def test_invalidate_reaches_sqlite(cache: TieredCache) -> None:
    cache.put("a", b"1")
    cache.flush()
    cache.invalidate("a")
    assert cache.get("a") is None
    cache.flush()
    assert cache.sqlite is not None and cache.sqlite.get("a") is None


def test_invalidate_prefix_and_clear_all(cache: TieredCache) -> None:
    for i in range(5):
        cache.put(f"ws1/{i}", b"%d" % i)
        cache.put(f"ws2/{i}", b"%d" % i)
    assert cache.sqlite is not None
    cache.sqlite.set_meta("model", {"m": 1})
    cache.invalidate_prefix("ws1/")
    cache.memory.clear()
    assert cache.get("ws1/1") is None
    assert cache.get("ws2/1") == (b"1", "sqlite")
    cache.clear("all")
    assert cache.get("ws2/1") is None
    cache.flush()
    assert cache.sqlite.stats()["entries"] == 0
    assert cache.sqlite.get_meta("model") == {"m": 1}
    with pytest.raises(ValueError):
        cache.clear("everything")


def wait_for_waiters(cache: TieredCache, key: str, n: int) -> None:
    """Give the threads up to 10 s until ``n`` callers wait on ``key``'s load (the test asserts it)."""
    deadline = time.monotonic() + 10
    while cache.waiting(key) < n and time.monotonic() < deadline:
        time.sleep(0.005)


def test_single_flight(cache: TieredCache) -> None:
    calls = 0
    release = threading.Event()

    def loader() -> tuple[bytes, str]:
        nonlocal calls
        calls += 1
        release.wait(10)
        return b'{"v":%d}' % calls, "computed"

    results: list[tuple[bytes, str]] = []

    def worker() -> None:
        results.append(cache.get_or_load("k", loader))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    wait_for_waiters(cache, "k", 7)
    assert cache.waiting("k") == 7  # one loader, seven callers sharing its result
    release.set()
    for t in threads:
        t.join()
    assert calls == 1
    assert len(results) == 8 and all(r[0] == b'{"v":1}' for r in results)
    assert cache.get_or_load("k", loader) == (b'{"v":1}', "memory")
    assert calls == 1
    assert cache.stats()["loads"]["loads"] == 1


def test_loader_failure_reaches_every_waiter_and_is_not_cached(cache: TieredCache) -> None:
    calls = 0
    release = threading.Event()

    def loader() -> tuple[bytes, str]:
        nonlocal calls
        calls += 1
        release.wait(10)
        raise OSError("disk gone")

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            cache.get_or_load("k", loader)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    wait_for_waiters(cache, "k", 3)  # all but the owner wait
    assert cache.waiting("k") == 3
    release.set()
    for t in threads:
        t.join()
    assert calls == 1 and len(errors) == 4
    assert cache.waiting("k") == 0
    assert cache.get_or_load("k", lambda: (b"2", "disk")) == (b"2", "disk")
    assert cache.stats()["loads"]["loadFailures"] == 1


def test_load_racing_an_invalidation_is_not_stored(cache: TieredCache) -> None:
    def loader() -> tuple[bytes, str]:
        cache.invalidate("k")  # the file changed while we were reading it
        return b'"stale"', "disk"

    assert cache.get_or_load("k", loader) == (b'"stale"', "disk")
    assert cache.get("k") is None
    assert cache.get_or_load("k", lambda: (b'"fresh"', "disk")) == (b'"fresh"', "disk")
    assert cache.get("k") == (b'"fresh"', "memory")


def test_prefetch_accounting(cache: TieredCache) -> None:
    loader = lambda: (b'"v"', "disk")  # noqa: E731
    assert cache.get_or_load("p1", loader, prefetch=True) == (b'"v"', "disk")
    cache.get_or_load("p2", loader, prefetch=True)
    cache.get_or_load("p3", loader, prefetch=True)
    assert cache.memory.stats()["misses"] == 0  # prefetch misses are not demand misses
    assert cache.get("p1") == (b'"v"', "memory")
    assert cache.get("p1") == (b'"v"', "memory")
    cache.invalidate("p2")
    p = cache.stats()["prefetch"]
    assert (p["issued"], p["used"], p["wasted"]) == (3, 1, 1)
    assert p["accuracy"] == pytest.approx(1 / 3)
    # prefetching something already in memory issues nothing
    cache.get_or_load("p1", loader, prefetch=True)
    assert cache.stats()["prefetch"]["issued"] == 3


def test_prefetch_promotion_from_sqlite_counts_as_issued(cache: TieredCache) -> None:
    cache.put("a", b"1")
    cache.flush()
    cache.clear("memory")
    assert cache.get_or_load("a", lambda: (b"2", "disk"), prefetch=True) == (b"1", "sqlite")
    assert cache.stats()["prefetch"]["issued"] == 1
    assert cache.get("a") == (b"1", "memory")
    assert cache.stats()["prefetch"]["used"] == 1


def test_persistence_through_tiered_cache(tmp_path: Path) -> None:
    c = TieredCache(MemoryTier(1_000_000), SqliteTier(tmp_path / "c.db", 10_000_000))
    for i in range(100):
        c.put(f"k{i}", b'{"i":%d}' % i)
    c.close()  # flushes the writer
    c2 = TieredCache(MemoryTier(1_000_000), SqliteTier(tmp_path / "c.db", 10_000_000))
    assert c2.get("k42") == (b'{"i":42}', "sqlite")
    assert c2.stats()["tiers"]["sqlite"]["entries"] == 100
    c2.close()


def test_writes_are_batched(tmp_path: Path) -> None:
    sqlite = SqliteTier(tmp_path / "c.db", 10_000_000)
    cache = TieredCache(MemoryTier(1_000_000), sqlite)
    gate = threading.Event()
    real_apply = sqlite.apply
    sizes: list[int] = []

    def apply(ops: Any) -> int:
        gate.wait(10)
        sizes.append(len(ops))
        return real_apply(ops)

    sqlite.apply = apply  # type: ignore[method-assign]
    for i in range(200):
        cache.put(f"k{i}", b"%d" % i)
    gate.set()
    cache.flush()
    assert sum(sizes) == 200 and len(sizes) <= 3
    assert sqlite.stats()["entries"] == 200
    cache.close()


def test_is_hot_and_refresh(cache: TieredCache) -> None:
    cache.get_or_load("cold", lambda: (b"1", "computed"))
    cache.get_or_load("hot", lambda: (b"1", "computed"))
    cache.get("hot")
    assert cache.is_hot("hot") and not cache.is_hot("cold")
    done = threading.Event()

    def reload() -> tuple[bytes, str]:
        done.set()
        return b"2", "computed"

    assert cache.refresh("hot", reload)
    assert done.wait(5)
    deadline = time.monotonic() + 5
    while cache.get("hot") != (b"2", "memory") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get("hot") == (b"2", "memory")
    assert not cache.refresh("cold", reload)
    assert cache.get("cold") is None


def test_stats_shape(cache: TieredCache) -> None:
    cache.put("a", b"1")
    cache.get("a")
    cache.get("b")
    s = cache.stats()
    mem = s["tiers"]["memory"]
    for field in ("hits", "misses", "hitRatio", "entries", "bytes", "maxBytes", "evictions", "evictedBytes"):
        assert field in mem
    assert set(s["tiers"]) == {"memory", "sqlite"}
    assert {"issued", "used", "wasted", "accuracy"} <= set(s["prefetch"])
    assert mem["hits"] == 1 and mem["misses"] == 1


def test_memory_is_charged_real_footprints_and_lower_tiers_the_bytes(cache: TieredCache) -> None:
    from smartcache_ls.cache.memory import footprint

    value = b'[2,{},{"text":"' + b"x" * 5000 + b'"}]'
    cache.put("a", value)
    assert cache.memory.stats()["bytes"] == footprint("a", value)
    cache.flush()
    assert cache.sqlite is not None and cache.sqlite.stats()["bytes"] == len(value)
    cache.clear("memory")
    found = cache.get("a")
    assert found is not None and found[1] == "sqlite"
    assert found[0] == value and isinstance(found[0], bytes)
    assert cache.memory.stats()["bytes"] == footprint("a", value)  # promoted, charged the same


def test_values_must_be_bytes(cache: TieredCache) -> None:
    with pytest.raises(TypeError):
        cache.put("a", {"x": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cache.get_or_load("b", lambda: ({"x": 1}, "computed"))  # type: ignore[arg-type, return-value]
    assert cache.get("b") is None
