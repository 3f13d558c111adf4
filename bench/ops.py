"""Per-operation cost of the cache tiers beside their peers, measured in one run.

* memory: MemoryTier.get (hit) / set (new key into a full cache, and update of a present
  key) vs cachetools.LRUCache (the baseline of the ratios), cachebox.LRUCache and theine
  (W-TinyLFU in Rust); same keys, same JSON-able value, 10k entries. Timed with the
  thread's CPU clock (this machine is shared: wall time mostly measures the neighbours).
  Then the bookkeeping bytes per entry of a full tier beside cachetools (tracemalloc).
* sqlite: SqliteTier.get (hit) / set (update of a present key, one transaction each) /
  set_many (per item) vs diskcache.Cache on the same data in the same temp dir (wall clock:
  the work includes the file system).
* redis: RedisTier.get (hit) vs a raw redis.Redis().get on 127.0.0.1:6379 (wall clock);
  the tier returns the decoded JSON value, so raw get + json.loads is shown too.

Every figure is the median of ``--rounds`` rounds; ratios < 1.0 mean ours is faster.

    .venv/bin/python bench/ops.py [--rounds 11] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from smartcache_ls.cache.memory import MemoryTier  # noqa: E402
from smartcache_ls.cache.sqlite import SqliteTier  # noqa: E402

VALUE: dict[str, Any] = {
    "text": "def main():\n    return 42\n" * 4,
    "hash": "0f" * 16,
    "mtime_ns": 1_700_000_000_000_000_000,
    "size": 104,
}

Clock = Callable[[], int]
Results = dict[str, dict[str, list[float]]]  # operation -> library -> per-round ns/op


def record(results: Results, op: str, lib: str, ns: float) -> None:
    results.setdefault(op, {}).setdefault(lib, []).append(ns)


def medians(results: Results) -> list[tuple[str, dict[str, float]]]:
    return [(op, {lib: statistics.median(xs) for lib, xs in libs.items()}) for op, libs in results.items()]


def fill_tier(tier: MemoryTier, keys: Sequence[str], value: Any, *, maintain: bool = True) -> MemoryTier:
    """Set every key (untimed); then run the tier's maintenance unless told not to."""
    for k in keys:
        tier.set(k, value, 1)
    if maintain:
        tier.maintain()
    return tier


def fill_mapping(cache: Any, keys: Sequence[str], value: Any) -> Any:
    """Set every key of a mapping-style cache (cachetools, cachebox; untimed)."""
    for k in keys:
        cache[k] = value
    return cache


def per_op(fn: Callable[[Any], Any], keys: Sequence[Any], clock: Clock) -> float:
    t0 = clock()
    for k in keys:
        fn(k)
    return (clock() - t0) / len(keys)


def set_loop_sized(
    setter: Callable[[str, Any, int], Any], keys: Sequence[str], value: Any, clock: Clock
) -> float:
    """Per-op time of setter(key, value, 1): the loop is as bare as the peers' loop."""
    t0 = clock()
    for k in keys:
        setter(k, value, 1)
    return (clock() - t0) / len(keys)


def set_loop(setter: Callable[[str, Any], Any], keys: Sequence[str], value: Any, clock: Clock) -> float:
    t0 = clock()
    for k in keys:
        setter(k, value)
    return (clock() - t0) / len(keys)


def bench_memory(rounds: int) -> list[tuple[str, dict[str, float]]]:
    import cachebox
    import cachetools
    from theine import Cache as TheineCache

    clock = time.thread_time_ns
    n = 10_000
    keys = [f"file:///home/dev/project/src/pkg/module_{i}.py" for i in range(n)]
    gets = keys * 5
    v = VALUE

    def filled_th() -> Any:
        c: Any = TheineCache(n)
        for k in keys:
            c.set(k, v)
        return c

    results: Results = {}
    for r in range(rounds):
        fresh = [f"file:///home/dev/project/src/new_{r}_{i}.py" for i in range(n)]
        m = fill_tier(MemoryTier(n), keys, v)
        ct = fill_mapping(cachetools.LRUCache(maxsize=n), keys, v)
        cb = fill_mapping(cachebox.LRUCache(n), keys, v)
        th = filled_th()
        present = [k for k in keys if k in m]
        hits = [k for k in gets if k in m]
        m_ttl = fill_tier(MemoryTier(n, ttl=3600), keys, v, maintain=False)
        getters: list[tuple[str, str, Callable[[Any], Any]]] = [
            ("get hit", "ours", m.get),
            ("get hit", "cachetools", ct.__getitem__),
            ("get hit", "cachebox", cb.__getitem__),
            ("get hit", "theine", th.get),
            ("get hit (ttl)", "ours", m_ttl.get),
        ]
        shift = r % len(getters)  # rotate the order from round to round
        for op, lib, fn in getters[shift:] + getters[:shift]:
            record(results, op, lib, per_op(fn, hits, clock))
        results["get hit (ttl)"]["cachetools"] = results["get hit"]["cachetools"]
        record(results, "get miss", "ours", per_op(m.get, fresh, clock))
        record(results, "get miss", "cachetools", per_op(ct.get, fresh, clock))
        peers = {"cachetools": ct.__setitem__, "cachebox": cb.__setitem__, "theine": th.set}
        record(results, "set new (full)", "ours", set_loop_sized(m.set, fresh, v, clock))
        for lib, fn in peers.items():
            record(results, "set new (full)", lib, set_loop(fn, fresh, v, clock))
        upd = [k for k in fresh if k in m][: n // 2] or present[: n // 2]
        record(results, "set update", "ours", set_loop_sized(m.set, upd, v, clock))
        for lib, fn in peers.items():
            record(results, "set update", lib, set_loop(fn, upd, v, clock))
    return medians(results)


def bench_sqlite(rounds: int) -> list[tuple[str, dict[str, float]]]:
    import diskcache

    clock = time.perf_counter_ns
    n = 2_000
    keys = [f"ws:file:src/pkg/module_{i}.py" for i in range(n)]
    results: Results = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    try:
        ours = SqliteTier(tmp / "ours.db", 1 << 30)
        dc = diskcache.Cache(str(tmp / "dc"), size_limit=1 << 30)
        ours.set_many((k, VALUE) for k in keys)
        for k in keys:
            dc.set(k, VALUE)
        few = keys[:300]
        missing = [k + "x" for k in few]
        for _ in range(rounds):
            record(results, "get hit", "ours", per_op(ours.get, keys, clock))
            record(results, "get hit", "diskcache", per_op(dc.get, keys, clock))
            record(results, "get miss", "ours", per_op(ours.get, missing, clock))
            record(results, "get miss", "diskcache", per_op(dc.get, missing, clock))
            record(results, "set update", "ours", set_loop(ours.set, few, VALUE, clock))
            record(results, "set update", "diskcache", set_loop(dc.set, few, VALUE, clock))
            t0 = clock()
            ours.set_many((k, VALUE) for k in keys)
            record(results, "set_many / item", "ours", (clock() - t0) / n)
            t0 = clock()
            with dc.transact():
                for k in keys:
                    dc.set(k, VALUE)
            record(results, "set_many / item", "diskcache", (clock() - t0) / n)
        ours.close()
        dc.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return medians(results)


def bench_redis(rounds: int, url: str) -> list[tuple[str, dict[str, float]]] | str:
    try:
        import redis

        from smartcache_ls.cache.redis import RedisTier
    except ImportError as exc:
        return f"skipped: {exc}"
    raw = redis.Redis.from_url(url)
    try:
        raw.ping()
    except Exception as exc:
        return f"skipped: no Redis at {url} ({exc})"
    clock = time.perf_counter_ns
    ns = f"smartcache-bench-{uuid.uuid4().hex[:8]}:"
    tier = RedisTier(url, namespace=ns, ttl=600)
    n = 2_000
    keys = [f"file:src/module_{i}.py" for i in range(n)]
    tier.set_many([(k, VALUE) for k in keys])
    raw_keys = [ns + k for k in keys]
    results: Results = {}
    raw_get = raw.get

    def raw_json(key: str) -> Any:
        data = raw_get(key)
        return None if data is None else json.loads(data)

    runs: list[tuple[str, Callable[[Any], Any], list[str]]] = [
        ("ours", tier.get, keys),
        ("redis-py", raw_get, raw_keys),
        ("redis-py+json", raw_json, raw_keys),
    ]
    try:
        for r in range(rounds):  # rotate the order: the loopback's noise drifts
            for name, fn, ks in runs[r % 3 :] + runs[: r % 3]:
                record(results, "get hit", name, per_op(fn, ks, clock))
    finally:
        tier.clear()
        tier.close()
        raw.close()
    return medians(results)


def footprint(n: int = 10_000) -> dict[str, float]:
    """Bookkeeping bytes per entry of a full cache (tracemalloc; keys and the shared value
    are allocated before tracing starts, so only the cache's own structures count). The
    Rust caches allocate outside Python's allocator, so tracemalloc cannot see them."""
    import gc
    import tracemalloc

    import cachetools

    keys = [f"file:///home/dev/project/src/pkg/module_{i}.py" for i in range(n)]
    out: dict[str, float] = {}
    for lib in ("ours", "cachetools"):
        gc.collect()
        tracemalloc.start()
        if lib == "ours":
            cache: Any = fill_tier(MemoryTier(n), keys, VALUE)
        else:
            cache = fill_mapping(cachetools.LRUCache(maxsize=n), keys, VALUE)
        out[lib] = tracemalloc.get_traced_memory()[0] / n
        tracemalloc.stop()
        del cache
    return out


def table(title: str, baseline: str, rows: list[tuple[str, dict[str, float]]]) -> None:
    libs: list[str] = []
    for _, res in rows:
        for lib in res:
            if lib not in libs:
                libs.append(lib)
    print(f"\n{title}  (ns/op, median; ratio = ours / {baseline})")
    head = f"{'operation':18}" + "".join(f"{lib:>15}" for lib in libs) + f"{'ratio':>9}"
    print(head)
    print("-" * len(head))
    for op, res in rows:
        cells = "".join(f"{res[lib]:15,.0f}" if lib in res else f"{'-':>15}" for lib in libs)
        ratio = res["ours"] / res[baseline] if baseline in res else float("nan")
        print(f"{op:18}{cells}{ratio:9.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--only", default="memory,sqlite,redis")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    if "memory" in only:
        table("memory tier vs in-process caches", "cachetools", bench_memory(args.rounds))
        fp = footprint()
        print(
            f"bytes per entry (10k entries, tracemalloc): ours {fp['ours']:.0f}, "
            f"cachetools {fp['cachetools']:.0f}  ratio {fp['ours'] / fp['cachetools']:.2f}"
        )
    if "sqlite" in only:
        table("SQLite tier vs diskcache", "diskcache", bench_sqlite(args.rounds))
    if "redis" in only:
        res = bench_redis(args.rounds, args.redis_url)
        if isinstance(res, str):
            print(f"\nRedis tier: {res}")
        else:
            table("Redis tier vs raw redis-py (loopback)", "redis-py", res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
