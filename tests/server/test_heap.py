"""The collector's pauses are measured, and stats report them with the process's memory."""

from __future__ import annotations

import gc
from pathlib import Path

from smartcache_ls.engine import Engine
from smartcache_ls.heap import FULL_KEPT, GcMonitor, freeze_long_lived, gc_monitor
from smartcache_ls.settings import Settings


def test_monitor_times_each_collection_per_generation() -> None:
    monitor = GcMonitor()
    monitor.install()
    try:
        junk = [[i] for i in range(200_000)]  # something for a full collection to walk
        gc.collect(2)
        gc.collect(0)
        del junk
    finally:
        monitor.uninstall()
    snap = monitor.snapshot()
    assert snap["collections"][2] >= 1 and snap["collections"][0] >= 1
    assert snap["maxPauseMs"][2] > 0 and snap["maxPauseCpuMs"][2] > 0
    assert snap["totalPauseMs"] >= snap["maxPauseMs"][2]
    # each full collection is kept with when it ran: its pauses are the max's
    full = snap["fullCollections"]
    assert len(full) == snap["collections"][2]
    assert max(wall for _, wall, _ in full) == snap["maxPauseMs"][2]
    times = [at for at, _, _ in full]
    assert times == sorted(times) and times[0] >= 0
    before = snap["collections"][2]
    gc.collect(2)  # uninstalled: not counted
    assert monitor.snapshot()["collections"][2] == before


def test_only_the_last_full_collections_are_kept() -> None:
    monitor = GcMonitor()
    monitor.install()
    try:
        for _ in range(FULL_KEPT + 3):
            gc.collect(2)
    finally:
        monitor.uninstall()
    snap = monitor.snapshot()
    assert snap["collections"][2] == FULL_KEPT + 3
    assert len(snap["fullCollections"]) == FULL_KEPT


def test_each_freeze_is_counted() -> None:
    before = gc_monitor.snapshot()["freezes"]
    freeze_long_lived()
    assert gc_monitor.snapshot()["freezes"] == before + 1


def test_stats_report_gc_and_process_memory(tmp_path: Path) -> None:
    engine = Engine(Settings(), tmp_path / "cache", watch=False)
    try:
        gc.collect()
        stats = engine.stats()
    finally:
        engine.close()
    assert stats["gc"]["collections"][2] >= 1
    process = stats["process"]
    assert process["rssBytes"] > 10 * 2**20
    assert process["rssAnonBytes"] is not None and process["rssAnonBytes"] <= process["rssBytes"]
    assert process["sqliteBytes"] is None or process["sqliteBytes"] > 0


def _rss_anon() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_free_memory_held_by_the_allocator_goes_back_to_the_os() -> None:
    import sys
    import threading

    from smartcache_ls.heap import return_free_memory

    if not sys.platform.startswith("linux") or not Path("/proc/self/status").exists():
        return
    kept: list[bytes] = []

    def churn() -> None:  # a thread's own malloc arena, as the builder thread has
        chunks = [bytes(2048) + bytes([i % 256]) for i in range(40_000)]  # 80 MB, past pymalloc's sizes
        kept.extend(chunks[::64])  # a few stay: the arena cannot just shrink from its top
        chunks.clear()

    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    before = _rss_anon()
    assert return_free_memory()
    assert before - _rss_anon() > 40 << 20
    assert len(kept) == 625
