"""Garbage-collector policy for a long-running server, and what the collector costs it.

Cached values are bytes (``cache/record.py``): the collector has nothing to walk in them, only
one small entry object per cached key. What it still walks is everything else the process
holds: the imported modules (pygls, lsprotocol, tree-sitter: a few hundred thousand objects),
the predictors' tables, the memory tier's entries. ``freeze_long_lived`` moves what exists to
the permanent generation so that full collections skip it; ``GcMonitor`` times every collection
(``gc.callbacks``), for ``smartcache/stats`` and the benchmarks.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "GcMonitor",
    "freeze_long_lived",
    "frozen_imports",
    "gc_monitor",
    "process_memory",
    "return_free_memory",
]

# SMARTCACHE_GC_FREEZE=0 turns the freezing off (to measure what it is worth: bench/memory.py)
_FREEZE = os.environ.get("SMARTCACHE_GC_FREEZE", "1") != "0"
FULL_KEPT = 16  # full collections the monitor keeps the times of


def freeze_long_lived() -> None:
    """Exempt everything allocated so far from the cyclic garbage collector's scans.

    A workspace model holds many small dicts and lists that live as long as the server, and
    the imported modules hold several hundred thousand objects. Left in the collector's
    generations, every full collection rescans them all (a 175 ms pause at 50,000
    transitions). Freezing is cheap (the tracked objects move to a permanent generation) and
    safe for these objects: reference counting still frees them when they are dropped; only
    cycle detection skips them. A collection of the young generations comes first, since cyclic
    garbage that is frozen is never collected. The engine calls this after loading a model and
    every ``engine.FREEZE_EVERY`` seconds (bench/memory.py measures the pauses either way).
    """
    if _FREEZE:
        gc.collect(1)  # young cyclic garbage goes first: what is frozen is never collected
        gc.freeze()
        gc_monitor.freezes += 1


FULL_COLLECTION_NEVER = 1 << 30  # a gen-2 threshold no import reaches


@contextlib.contextmanager
def frozen_imports() -> Iterator[None]:
    """Import a stack of modules with young collections only, then freeze what survived.

    lsprotocol and pygls leave about 50,000 tracked objects that live as long as the server;
    a full collection triggered halfway through the imports walks them all (about 40 ms of CPU
    at start-up, the GIL held), so none runs until the imports are done. Young ones do run:
    with the collector off, the 40,000 objects that attrs leaves as garbage (each class it
    replaces with a slotted one, with its methods) were frozen with the rest, 9 MB of RSS,
    for no gain in time. Frozen, the survivors are never scanned again.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(threshold[0], threshold[1], FULL_COLLECTION_NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.collect(1)  # (the garbage made since the last young collection: frozen, it would stay)
        gc.freeze()


class GcMonitor:
    """Pause times of the cyclic collector, per generation, from ``gc.callbacks``: wall time (what
    the thread that collected waited) and that thread's CPU time (the collector's own work; on a
    loaded machine the wall time also holds the time other processes had the core)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start = 0.0
        self._start_cpu = 0.0
        self.collections = [0, 0, 0]
        self.max_ms = [0.0, 0.0, 0.0]
        self.max_cpu_ms = [0.0, 0.0, 0.0]
        self.total_ms = 0.0
        self.freezes = 0  # freeze_long_lived calls that froze
        self.installed = False
        # the last FULL_KEPT full collections: (seconds since the monitor was made, wall ms, CPU
        # ms), so that a benchmark can tell the pauses of a phase (the tier full) from start-up's
        self.full: deque[tuple[float, float, float]] = deque(maxlen=FULL_KEPT)
        self._t0 = time.monotonic()

    def install(self) -> None:
        with self._lock:
            if not self.installed:
                gc.callbacks.append(self._callback)
                self.installed = True

    def uninstall(self) -> None:
        with self._lock:
            if self.installed:
                gc.callbacks.remove(self._callback)
                self.installed = False

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        # runs inside the collection, with the GIL held: no lock, nothing that allocates much
        if phase == "start":
            self._start = time.perf_counter()
            self._start_cpu = time.thread_time()
            return
        ms = (time.perf_counter() - self._start) * 1000
        cpu_ms = (time.thread_time() - self._start_cpu) * 1000
        gen = int(info.get("generation", 2))
        if 0 <= gen <= 2:
            self.collections[gen] += 1
            if ms > self.max_ms[gen]:
                self.max_ms[gen] = ms
            if cpu_ms > self.max_cpu_ms[gen]:
                self.max_cpu_ms[gen] = cpu_ms
            if gen == 2:
                self.full.append((time.monotonic() - self._t0, ms, cpu_ms))
        self.total_ms += ms

    def reset(self) -> None:
        self.collections = [0, 0, 0]
        self.max_ms = [0.0, 0.0, 0.0]
        self.max_cpu_ms = [0.0, 0.0, 0.0]
        self.total_ms = 0.0
        self.full.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "collections": list(self.collections),
            "maxPauseMs": [round(ms, 3) for ms in self.max_ms],
            "maxPauseCpuMs": [round(ms, 3) for ms in self.max_cpu_ms],
            "totalPauseMs": round(self.total_ms, 3),
            "fullCollections": [[round(v, 3) for v in entry] for entry in self.full],
            "at": round(time.monotonic() - self._t0, 3),  # the clock of fullCollections' times
            # (not gc.get_freeze_count(): it walks every frozen object, ~11 ms with the GIL held
            # in a server of ~150k objects, on every stats request: polled every 20 ms, it
            # took 7 s of the server's CPU and slowed the background index 1.6x)
            "freezes": self.freezes,
            "freezing": _FREEZE,
        }


gc_monitor = GcMonitor()


@functools.cache  # (looked up once: ctypes loads the library)
def _sqlite_memory_used() -> Callable[[], int] | None:
    """``sqlite3_memory_used`` of the SQLite library the sqlite3 module runs (None if that
    library cannot be found, or is another version than the one the module reports)."""
    import ctypes
    import ctypes.util
    import sqlite3

    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.sqlite3_libversion.restype = ctypes.c_char_p
        if lib.sqlite3_libversion().decode() != sqlite3.sqlite_version:
            return None
        used = lib.sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    used.restype = ctypes.c_int64
    return lambda: int(used())


@functools.cache
def _libc() -> Any:
    """The C library's functions as this process links them (None where ctypes cannot load
    them): ``dlopen(NULL)``, no search (``ctypes.util.find_library`` runs ``ldconfig``)."""
    import ctypes

    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


@functools.cache
def _malloc_trim() -> Callable[[], int] | None:
    """glibc's ``malloc_trim(0)`` (None elsewhere: musl, macOS)."""
    import ctypes

    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


M_ARENA_MAX = -8  # mallopt's parameter (glibc's malloc.h)
#: glibc malloc arenas for the server's threads. glibc's default is 8 per core, and the free
#: chunks of one arena serve only the threads that use it: the 100k-file bench's settled RSS
#: was 101-109 MB with the default and 97-98 MB with 1 or 2 (one run each way). The threads
#: allocate holding the GIL, so they hardly ever contend for an arena's lock.
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (``mallopt(M_ARENA_MAX)``; before threads start, as threads take
    their arena on their first allocation). Whether the allocator took it (False elsewhere)."""
    import ctypes

    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


def return_free_memory() -> bool:
    """Give the allocator's free pages back to the OS (glibc's ``malloc_trim``): a phase that
    built and dropped many objects (the background index decoding 50,000 workers' answers)
    leaves free chunks in the heaps of the threads that made them, resident until reused
    (8 MB of a 100k-file workspace's once indexed). Through ctypes, which lets go of the GIL
    while it runs. Whether anything was returned."""
    trim = _malloc_trim()
    return trim is not None and trim() == 1


def process_memory() -> dict[str, int | None]:
    """The process's resident memory (all, anonymous, file-backed: SQLite's mmap of its file is
    the latter) and what SQLite's allocator holds (its page caches)."""
    out: dict[str, int | None] = {"rssBytes": None, "rssAnonBytes": None, "rssFileBytes": None}
    fields = {"VmRSS": "rssBytes", "RssAnon": "rssAnonBytes", "RssFile": "rssFileBytes"}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                if name in fields:
                    out[fields[name]] = int(value.split()[0]) * 1024
    except OSError:
        pass
    out["sqliteBytes"] = None
    used = _sqlite_memory_used()
    if used is not None:
        out["sqliteBytes"] = used()
    return out
