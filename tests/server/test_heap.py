"""The collector's pauses are measured, and stats report them with the process's memory."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

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


_FROZEN_IMPORTS_RUN = """
import gc, json, sys, weakref
from smartcache_ls.heap import frozen_imports

class Node:
    pass

gc.collect()
fulls = []
gc.callbacks.append(lambda phase, info: phase == "start" and info["generation"] == 2 and fulls.append(1))
threshold = gc.get_threshold()
frozen_before = gc.get_freeze_count()
refs = []
kept = []

def build():  # what an import does: objects that stay, and cyclic garbage
    for i in range(60_000):
        a, b = Node(), Node()
        a.peer, b.peer = b, a
        if i % 1000 == 0:
            refs.append(weakref.ref(a))
        if i % 3 == 0:
            kept.append(Node())

mode = sys.argv[1]
if mode == "frozen_imports":
    with frozen_imports():
        build()
elif mode == "collector_off":
    gc.disable()
    build()
    gc.freeze()
    gc.enable()
else:
    build()
del gc.callbacks[-1]
print(json.dumps({
    "dead": sum(r() is None for r in refs), "garbage": len(refs), "fulls": len(fulls),
    "frozen": gc.get_freeze_count() - frozen_before, "restored": gc.get_threshold() == threshold,
}))
"""


def _frozen_imports_run(mode: str) -> dict[str, Any]:
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _FROZEN_IMPORTS_RUN, mode], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def test_frozen_imports_collects_young_garbage_with_no_full_collection_and_freezes_the_rest() -> None:
    plain = _frozen_imports_run("plain")
    assert plain["fulls"] >= 1  # (the same work with the collector as it is does run full ones)
    off = _frozen_imports_run("collector_off")
    assert off["dead"] == 0 and off["frozen"] >= 2 * 60_000  # the garbage frozen for good
    young = _frozen_imports_run("frozen_imports")
    assert young["fulls"] == 0
    assert young["dead"] == young["garbage"] == 60
    assert 20_000 <= young["frozen"] < 2 * 60_000  # what stays is frozen, the garbage is not
    assert young["restored"]


_ARENAS_RUN = """
import ctypes, sys, threading
from smartcache_ls.heap import limit_malloc_arenas

if sys.argv[1] == "limited":
    assert limit_malloc_arenas(2)
barrier = threading.Barrier(8)
held = []

def work():  # every thread allocates while all are alive: each takes an arena, up to the cap
    held.append([bytes(4096 + i) for i in range(64)])
    barrier.wait()

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
sys.stderr.flush()
ctypes.CDLL(None).malloc_stats()
"""


def test_malloc_arenas_are_capped_for_the_threads_that_start_after() -> None:
    import platform
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return

    def arenas(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _ARENAS_RUN, mode], capture_output=True, text=True, check=True
        )
        return sum(line.startswith("Arena ") for line in out.stderr.splitlines())

    assert arenas("default") > 2
    assert 1 <= arenas("limited") <= 2
