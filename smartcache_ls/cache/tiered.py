"""Tiered cache of encoded values: memory -> SQLite -> (Redis), promotion on hit, write-through off-thread.

* Values are ``bytes`` (one encoded JSON document each, e.g. a ``record``), the same bytes in
  every tier: a hit in any tier is handed on and promoted without decoding or re-encoding.
  The memory tier is charged each entry's real footprint (``memory.footprint``: the bytes
  object, its key and the tier's bookkeeping), the lower tiers the length of the bytes.

* ``get`` looks in memory, then in the writes still queued for the lower tiers,
  then SQLite, then Redis; a lower-tier hit is promoted into memory (and a Redis
  hit into SQLite).
* ``put`` stores in memory at once and queues the SQLite/Redis writes for one
  background writer thread that applies them in batches (one SQLite transaction,
  one Redis pipeline per batch). Reads see queued writes and queued deletions.
* ``get_or_load`` is single-flight: concurrent callers of a missing key share one
  loader call (per-key futures).
* Invalidation is never undone by a racing load or promotion: loads and promotions
  that began before an invalidation of their key are returned but not stored.
* Prefetch accounting (issued/used/wasted) comes from the memory tier's entry flags.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from .memory import MemoryTier, footprint
from .sqlite import Op, SqliteTier
from .stats import StatsCounter

if TYPE_CHECKING:
    from .redis import RedisTier

__all__ = ["LowerTier", "TieredCache"]

log = logging.getLogger(__name__)

MAX_BATCH = 512
RECENT_INVALIDATIONS = 4096
_TOMBSTONE = object()

Loader = Callable[[], tuple[bytes, str]]


class _Flight(Future[tuple[bytes, str]]):
    """One load in progress; ``waiters`` counts the callers sharing it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiters = 0


class LowerTier(Protocol):
    """What the background writer and the read path need from SQLite and Redis tiers."""

    def get_with_size(
        self, key: str, *, count: bool = True, raw: bool = False
    ) -> tuple[Any, int] | None: ...
    def apply(self, ops: Sequence[Op]) -> int: ...
    def stats(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class TieredCache:
    def __init__(
        self,
        memory: MemoryTier,
        sqlite: SqliteTier | None = None,
        redis: RedisTier | None = None,
    ) -> None:
        self.memory = memory
        self.sqlite = sqlite
        self.redis = redis
        self._lower: list[tuple[str, LowerTier]] = []
        if sqlite is not None:
            self._lower.append(("sqlite", sqlite))
        if redis is not None:
            self._lower.append(("redis", redis))
        self._lock = threading.Lock()  # epochs, flights, promotion vs invalidation
        self._flights: dict[str, _Flight] = {}
        self._epoch = 0
        self._key_epoch: dict[str, int] = {}
        self._floor = 0
        self._loads = StatsCounter()
        # background writer
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[tuple[int, Op]] = []
        self._pending: dict[str, tuple[int, Any, int]] = {}  # key -> (seq, bytes | _TOMBSTONE, size)
        self._pending_prefixes: list[tuple[int, str]] = []
        self._seq = 0
        self._applied = 0
        self._batches = 0
        self._written_ops = 0
        self._busy = False
        self._stopping = False
        self._closed = False
        self._writer: threading.Thread | None = None
        self._refresher: threading.Thread | None = None
        self._refresh_jobs: list[tuple[str, Loader]] = []
        if self._lower:
            self._writer = threading.Thread(
                target=self._write_loop, name="smartcache-cache-writer", daemon=True
            )
            self._writer.start()

    # reads ---------------------------------------------------------------------------
    def get(self, key: str) -> tuple[bytes, str] | None:
        value = self.memory.get(key)
        if value is not None:
            return value, "memory"
        return self._from_lower(key, demand=True, prefetched=False)

    def _from_lower(self, key: str, *, demand: bool, prefetched: bool) -> tuple[bytes, str] | None:
        if not self._lower:
            return None
        start = self._epoch
        pending = self._pending_lookup(key)
        if pending is _TOMBSTONE:
            return None
        if pending is not None:
            value, _ = pending
            self._promote(key, value, start, prefetched)
            return value, self._lower[0][0]
        for name, tier in self._lower:
            found = tier.get_with_size(key, count=demand, raw=True)
            if found is None:
                continue
            value, size = found
            promoted = self._promote(key, value, start, prefetched)
            if promoted and name == "redis" and self.sqlite is not None:
                # keep a local copy for the next session
                self._enqueue(("set", key, value, size), key, value, size, only="sqlite")
            return value, name
        return None

    def _pending_lookup(self, key: str) -> Any:
        """(value, size) of a queued write, _TOMBSTONE for a queued deletion, else None."""
        if not self._pending and not self._pending_prefixes:
            return None
        with self._cond:
            entry = self._pending.get(key)
            seq = entry[0] if entry is not None else -1
            for pseq, prefix in self._pending_prefixes:
                if pseq > seq and key.startswith(prefix):
                    return _TOMBSTONE
            if entry is None:
                return None
            if entry[1] is _TOMBSTONE:
                return _TOMBSTONE
            return entry[1], entry[2]

    def _stale(self, key: str, start: int) -> bool:
        return start < self._floor or self._key_epoch.get(key, -1) > start

    def _promote(self, key: str, value: bytes, start: int, prefetched: bool) -> bool:
        with self._lock:
            if self._stale(key, start):
                return False
            self.memory.set(key, value, footprint(key, value), prefetched=prefetched)
            return True

    def _peek(self, key: str) -> tuple[bytes, str] | None:
        """Like get, without demand statistics; a lower-tier find is promoted as prefetched."""
        value = self.memory.peek(key)
        if value is not None:
            return value, "memory"
        return self._from_lower(key, demand=False, prefetched=True)

    def get_or_load(
        self, key: str, loader: Loader, *, prefetch: bool = False
    ) -> tuple[bytes, str]:
        """The cached bytes, or the loader's (bytes, source), stored; one loader call per key at a time."""
        found = self._peek(key) if prefetch else self.get(key)
        if found is not None:
            return found
        with self._lock:
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                flight.waiters += 1
            start = self._epoch
        if not owner:
            return flight.result()
        try:
            # a flight that ended between our miss and our start may have stored it
            value = self.memory.peek(key)
            if value is not None:
                result: tuple[bytes, str] = (value, "memory")
            else:
                t0 = time.perf_counter()
                try:
                    result = loader()
                except BaseException:
                    self._loads.record_load(time.perf_counter() - t0, ok=False)
                    raise
                self._loads.record_load(time.perf_counter() - t0)
                if not isinstance(result[0], bytes):
                    raise TypeError(f"a loader of {key!r} returned {type(result[0]).__name__}, not bytes")
                self._store_loaded(key, result[0], start, prefetch)
            flight.set_result(result)
            return result
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)

    def waiting(self, key: str) -> int:
        """How many callers wait on a load of ``key`` in flight (0 if none is)."""
        with self._lock:
            flight = self._flights.get(key)
            return flight.waiters if flight is not None else 0

    def _store_loaded(self, key: str, value: bytes, start: int, prefetched: bool) -> None:
        with self._lock:
            if self._stale(key, start):
                log.debug("load of %s raced an invalidation: not stored", key)
                return
            self._store(key, value, prefetched)

    def _store(self, key: str, value: bytes, prefetched: bool) -> None:
        """(Locked) into memory at once, into the lower tiers by the background writer."""
        self.memory.set(key, value, footprint(key, value), prefetched=prefetched)
        size = len(value)
        self._enqueue(("set", key, value, size), key, value, size)

    # writes --------------------------------------------------------------------------
    def put(self, key: str, value: bytes, *, prefetched: bool = False) -> None:
        """Store ``value``, the encoded JSON document (bytes) of ``key``."""
        if not isinstance(value, bytes):
            raise TypeError(f"cached values are bytes, got {type(value).__name__}")
        with self._lock:
            self._store(key, value, prefetched)

    def invalidate(self, key: str) -> None:
        with self._lock:
            self._epoch += 1
            keys = self._key_epoch
            if len(keys) >= RECENT_INVALIDATIONS:
                keys.clear()
                self._floor = self._epoch
            keys[key] = self._epoch
            self.memory.delete(key)
            self._enqueue(("delete", key), key, _TOMBSTONE, 0)

    def invalidate_prefix(self, prefix: str) -> None:
        with self._lock:
            self._epoch += 1
            self._floor = self._epoch
            self._key_epoch.clear()
            self.memory.delete_prefix(prefix)
            self._enqueue(("delete_prefix", prefix), None, None, 0)

    def clear(self, scope: str = "memory") -> None:
        """"memory": drop the memory tier; "all": every tier (meta documents stay)."""
        if scope not in ("memory", "all"):
            raise ValueError(f"unknown scope {scope!r}")
        if scope == "all":
            self.invalidate_prefix("")
        self.memory.clear()

    def is_hot(self, key: str) -> bool:
        """Was the key accessed at least twice recently (worth recomputing after invalidation)?"""
        return self.memory.is_hot(key)

    def refresh(self, key: str, loader: Loader) -> bool:
        """Invalidate ``key``; if it was hot, reload it in the background. True if scheduled."""
        hot = self.is_hot(key)
        self.invalidate(key)
        if not hot or self._closed:
            return False
        with self._cond:
            self._refresh_jobs.append((key, loader))
            if self._refresher is None or not self._refresher.is_alive():
                self._refresher = threading.Thread(
                    target=self._refresh_loop, name="smartcache-cache-refresh", daemon=True
                )
                self._refresher.start()
        return True

    def _refresh_loop(self) -> None:
        while True:
            with self._cond:
                if not self._refresh_jobs:
                    self._refresher = None
                    return
                key, loader = self._refresh_jobs.pop(0)
            try:
                self.get_or_load(key, loader)
            except Exception:
                log.exception("background refresh of %s failed", key)

    # background writer ------------------------------------------------------------------
    def _enqueue(
        self, op: Op, key: str | None, value: Any, size: int, *, only: str | None = None
    ) -> None:
        if not self._lower or self._closed:
            return
        with self._cond:
            self._seq += 1
            seq = self._seq
            self._queue.append((seq, (*op, only) if only else op))
            if key is not None:
                self._pending[key] = (seq, value, size)
            else:
                self._pending_prefixes.append((seq, op[1]))
            self._cond.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                self._busy = True
            try:
                self._apply(batch)
            except Exception:
                log.exception("cache writer: batch of %d writes lost", len(batch))
            with self._cond:
                last = batch[-1][0]
                for seq, op in batch:
                    if op[0] == "delete_prefix":
                        continue
                    entry = self._pending.get(op[1])
                    if entry is not None and entry[0] == seq:
                        del self._pending[op[1]]
                if self._pending_prefixes:
                    self._pending_prefixes = [p for p in self._pending_prefixes if p[0] > last]
                self._applied = last
                self._batches += 1
                self._written_ops += len(batch)
                self._busy = False
                self._cond.notify_all()

    def _apply(self, batch: list[tuple[int, Op]]) -> None:
        for name, tier in self._lower:
            ops = []
            for _, op in batch:
                if op[0] == "set" and len(op) == 5:  # tier-restricted write
                    if op[4] != name:
                        continue
                    op = op[:4]
                ops.append(op)
            if ops:
                try:
                    tier.apply(ops)
                except Exception:
                    log.exception("cache writer: %s tier rejected a batch", name)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write queued so far is applied. False on timeout."""
        if self._writer is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._seq
            while self._applied < target and self._writer.is_alive():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # stats, lifecycle ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        tiers: dict[str, Any] = {"memory": self.memory.stats()}
        for name, tier in self._lower:
            try:
                tiers[name] = tier.stats()
            except Exception as exc:  # a closed or broken tier must not break stats
                tiers[name] = {"error": str(exc)}
        loads = self._loads.snapshot()
        with self._cond:
            writes = {
                "queued": len(self._queue),
                "batches": self._batches,
                "written": self._written_ops,
            }
        return {
            "tiers": tiers,
            "prefetch": self.memory.prefetch_stats().as_dict(),
            "loads": {
                "loads": loads.loads,
                "loadFailures": loads.load_failures,
                "totalLoadTime": loads.total_load_time,
                "averageLoadPenalty": loads.average_load_penalty,
            },
            "writes": writes,
        }

    def close(self) -> None:
        if self._closed:
            return
        self.flush(timeout=30)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._writer is not None:
            self._writer.join(timeout=30)
        self._closed = True
        for _, tier in self._lower:
            with contextlib.suppress(Exception):
                tier.close()

    def __enter__(self) -> TieredCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
