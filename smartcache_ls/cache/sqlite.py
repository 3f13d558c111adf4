"""SQLite tier: one database file, shared safely by threads and by processes.

* WAL journal, ``synchronous=NORMAL``, ``busy_timeout``; one connection per thread
  (readers never wait for the writer); statements are prepared once per connection
  (sqlite3's statement cache).
* Table ``entries(key, value JSON text, size, atime, hits, expires_at)``, bounded by
  bytes: running totals kept by triggers (exact across processes), eviction of
  expired entries first, then least recently accessed, down to a low-water mark.
* Reads do not write: access times and hit counts are buffered in memory and
  applied in one statement batch with the next write (or ``flush_access()``).
* Table ``meta(name, value JSON)`` for small persistent documents, never evicted.
* A file at the path that is not a readable SQLite database is renamed aside to
  ``<name>.corrupt-<timestamp>`` (warning logged) and a fresh database is created.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .batched import BatchedTier
from .codec import CodecError, decode, encode, encode_sized
from .codec import loads as _loads
from .private import create_private_file, make_private_dirs
from .stats import StatsCounter

__all__ = ["SCHEMA_VERSION", "Op", "SqliteTier"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ACCESS_BUFFER = 4096  # distinct keys whose access time waits for the next write
EVICT_CHUNK = 256
TOTALS_EVERY = 32
CACHE_KIB = 8192  # page cache per connection
MMAP_BYTES = 64 << 20  # reads through mmap: no read() syscall per page

# A write operation for ``apply``: ("set", key, json_text, size) | ("delete", key)
# | ("delete_prefix", prefix).  (TieredCache's background writer sends batches of these.)
Op = tuple[Any, ...]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entries(
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        size INTEGER NOT NULL,
        atime REAL NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0,
        expires_at REAL)""",
    # no index on atime: every write and every access-time update would pay for it, while
    # eviction (one ordered scan per 10% of max_bytes written) is rare
    "DROP INDEX IF EXISTS entries_atime",
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL, mtime REAL NOT NULL)",
    """CREATE TABLE IF NOT EXISTS totals(
        id INTEGER PRIMARY KEY CHECK (id = 0), count INTEGER NOT NULL, size INTEGER NOT NULL)""",
    "INSERT OR IGNORE INTO totals(id, count, size) VALUES (0, 0, 0)",
    """CREATE TRIGGER IF NOT EXISTS entries_ins AFTER INSERT ON entries BEGIN
        UPDATE totals SET count = count + 1, size = size + NEW.size WHERE id = 0; END""",
    """CREATE TRIGGER IF NOT EXISTS entries_del AFTER DELETE ON entries BEGIN
        UPDATE totals SET count = count - 1, size = size - OLD.size WHERE id = 0; END""",
    """CREATE TRIGGER IF NOT EXISTS entries_upd AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET size = size - OLD.size + NEW.size WHERE id = 0; END""",
)

_GET = "SELECT value, size, expires_at FROM entries WHERE key = ?"
_UPSERT = (
    "INSERT INTO entries(key, value, size, atime, hits, expires_at) VALUES (?, ?, ?, ?, 0, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size, "
    "atime = excluded.atime, expires_at = excluded.expires_at"
)
_DELETE = "DELETE FROM entries WHERE key = ?"
_TOUCH = "UPDATE entries SET atime = ?, hits = hits + 1 WHERE key = ?"
_TOTALS = "SELECT count, size FROM totals WHERE id = 0"

_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    if isinstance(exc, sqlite3.OperationalError):  # locked, busy, I/O: not corruption
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _CORRUPT_CODES
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPT_CODES
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def _is_busy(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """[low, high) key range of a prefix under SQLite's binary (UTF-8 order) collation."""
    if not prefix:
        return "", None
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return prefix, None
    return prefix, prefix[:-1] + chr(last + 1)


class SqliteTier(BatchedTier):
    """A byte-bounded JSON cache in one SQLite file (clear() drops every entry; meta documents stay)."""

    def __init__(
        self,
        path: Path,
        max_bytes: int,
        ttl: float | None = None,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 10.0,
        low_water: float = 0.9,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.ttl = ttl if ttl and ttl > 0 else None
        self._clock = clock
        self._busy_ms = int(busy_timeout * 1000)
        self._low_water = low_water
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer transaction per process at a time
        self._touches: dict[str, float] = {}
        self._counter = StatsCounter()
        self._writes = 0
        self._expirations = 0
        self._estimate = 1 << 62  # bytes in the file as far as we know (forces a first reading)
        self._since_check = 0
        self._closed = False
        self._error_logged = False
        self.set_aside: Path | None = None  # where a corrupt file went, if one was found
        make_private_dirs(self.path.parent)
        self._open_checked()

    # connections ----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path),
            timeout=self._busy_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=64,
        )
        conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        try:
            conn: sqlite3.Connection = self._local.conn
            return conn
        except AttributeError:
            pass
        if self._closed:
            raise sqlite3.ProgrammingError("SqliteTier is closed")
        conn = self._connect()
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _open_checked(self) -> None:
        """Open (or create) the schema; set a corrupt file aside; wait out other openers."""
        deadline = time.monotonic() + 3 * self._busy_ms / 1000
        delay = 0.02
        while True:
            try:
                create_private_file(self.path)  # 0600, and SQLite gives -wal and -shm its mode
                self._init_schema()
                return
            except sqlite3.DatabaseError as exc:
                if _is_corruption(exc):
                    self._close_all()
                    self._set_aside(exc)
                    create_private_file(self.path)
                    self._init_schema()
                    return
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                # another process is creating the file or switching it to WAL: try again
                log.debug("SQLite cache %s busy while opening (%s); retrying", self.path, exc)
                self._close_all()
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _init_schema(self) -> None:
        conn = self._conn()
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != "wal":
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
            if mode != "wal":
                log.warning("SQLite cache %s: journal_mode is %s, not wal", self.path, mode)
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return  # an existing cache: nothing to write, no write lock to wait for
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                log.warning(
                    "SQLite cache %s has schema %s (want %s): rebuilt", self.path, version, SCHEMA_VERSION
                )
                for stmt in (
                    "DROP TABLE IF EXISTS entries",
                    "DROP TABLE IF EXISTS meta",
                    "DROP TABLE IF EXISTS totals",
                ):
                    conn.execute(stmt)
            for stmt in _SCHEMA:
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _set_aside(self, exc: BaseException) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                with contextlib.suppress(OSError):
                    os.replace(side, target.with_name(target.name + suffix))
        self.set_aside = target
        log.warning("SQLite cache %s is unreadable (%s): moved to %s, starting fresh", self.path, exc, target)

    def _close_all(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def _runtime_error(self, what: str, exc: sqlite3.Error) -> None:
        if not self._error_logged:
            self._error_logged = True
            log.warning("SQLite cache %s: %s failed: %s (further errors not logged)", self.path, what, exc)
        else:
            log.debug("SQLite cache %s: %s failed: %s", self.path, what, exc)

    # reads --------------------------------------------------------------------------
    def get_with_size(self, key: str, *, count: bool = True) -> tuple[Any, int] | None:
        """(value, stored size in bytes) or None; ``count=False`` records no hit/miss."""
        try:
            try:
                conn: sqlite3.Connection = self._local.conn
            except AttributeError:
                conn = self._conn()
            row = conn.execute(_GET, (key,)).fetchone()
        except sqlite3.Error as exc:
            self._runtime_error("read", exc)
            row = None
        if row is None:
            if count:
                self._counter.misses += 1
            return None
        text, size, expires = row
        now = self._clock()
        if expires is not None and expires <= now:
            self._expirations += 1
            self._delete_if_expired(key, now)
            if count:
                self._counter.misses += 1
            return None
        try:
            value = _loads(text)
        except ValueError as exc:
            log.warning("SQLite cache %s: entry %r unreadable (%s): dropped", self.path, key, exc)
            self.delete(key)
            if count:
                self._counter.misses += 1
            return None
        touches = self._touches
        if len(touches) < ACCESS_BUFFER or key in touches:
            touches[key] = now
        if count:
            self._counter.hits += 1
        return value, size

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            row = self._conn().execute(_GET, (key,)).fetchone()
        except sqlite3.Error:
            return False
        return row is not None and (row[2] is None or row[2] > self._clock())

    def _delete_if_expired(self, key: str, now: float) -> None:
        try:
            with self._write_lock:
                self._conn().execute("DELETE FROM entries WHERE key = ? AND expires_at <= ?", (key, now))
        except sqlite3.Error as exc:
            self._runtime_error("expire", exc)

    # writes -------------------------------------------------------------------------
    def set(self, key: str, value: Any) -> None:
        text, size = encode_sized(value)
        self.apply((("set", key, text, size),))

    def set_many(self, items: Iterable[tuple[str, Any]]) -> None:
        """Store many values in one transaction."""
        ops = [("set", key, *encode_sized(value)) for key, value in items]
        if ops:
            self.apply(ops)

    def apply(self, ops: Sequence[Op]) -> int:
        """Run write operations in order, in one transaction; evict if over the bound.

        Returns how many rows deletions removed. Errors are logged, not raised
        (a cache write that fails is a lost write, never a failed request)."""
        if self._closed:
            return 0
        now = self._clock()
        expires = now + self.ttl if self.ttl is not None else None
        removed = 0
        added = 0
        touches, self._touches = self._touches, {}
        with self._write_lock:
            try:
                conn = self._conn()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for op in ops:
                        kind = op[0]
                        if kind == "set":
                            _, key, text, size = op
                            if size > self.max_bytes:
                                removed += conn.execute(_DELETE, (key,)).rowcount
                                continue
                            conn.execute(_UPSERT, (key, text, size, now, expires))
                            touches.pop(key, None)
                            self._writes += 1
                            added += size
                        elif kind == "delete":
                            removed += conn.execute(_DELETE, (op[1],)).rowcount
                        elif kind == "delete_prefix":
                            removed += self._delete_prefix(conn, op[1])
                        else:
                            raise ValueError(f"unknown cache op {kind!r}")
                    if touches:
                        conn.executemany(_TOUCH, [(t, k) for k, t in touches.items()])
                    self._evict(conn, now, added)
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._runtime_error("write", exc)
                return 0
        return removed

    @staticmethod
    def _delete_prefix(conn: sqlite3.Connection, prefix: str) -> int:
        low, high = _prefix_bounds(prefix)
        if not low:
            return conn.execute("DELETE FROM entries").rowcount
        if high is None:
            return conn.execute("DELETE FROM entries WHERE key >= ?", (low,)).rowcount
        return conn.execute("DELETE FROM entries WHERE key >= ? AND key < ?", (low, high)).rowcount

    def flush_access(self) -> None:
        """Write buffered access times now."""
        if self._touches:
            self.apply(())

    def _evict(self, conn: sqlite3.Connection, now: float, added: int) -> None:
        # The exact total (kept by triggers, every process's writes) is read when our own
        # writes since the last reading could have crossed the bound, or every
        # TOTALS_EVERY transactions, not on every write.
        self._since_check += 1
        self._estimate += added
        if self._estimate <= self.max_bytes and self._since_check < TOTALS_EVERY:
            return
        size = conn.execute(_TOTALS).fetchone()[1]
        self._since_check = 0
        self._estimate = size
        if size <= self.max_bytes:
            return
        conn.execute("DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        count, size = conn.execute(_TOTALS).fetchone()
        target = int(self.max_bytes * self._low_water)
        while size > target:
            # one ordered scan (no atime index) picks about as many rows as the excess needs
            guess = int((size - target) / max(size / max(count, 1), 1)) + 16
            rows = conn.execute(
                "SELECT key, size FROM entries ORDER BY atime LIMIT ?", (max(guess, EVICT_CHUNK),)
            ).fetchall()
            if not rows:
                break
            doomed = []
            for key, sz in rows:
                doomed.append((key,))
                size -= sz
                self._counter.record_eviction(sz)
                if size <= target:
                    break
            conn.executemany(_DELETE, doomed)
        self._estimate = size

    # meta ---------------------------------------------------------------------------
    def get_meta(self, name: str) -> Any | None:
        try:
            row = self._conn().execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as exc:
            self._runtime_error("meta read", exc)
            return None
        if row is None:
            return None
        try:
            return decode(row[0])
        except CodecError as exc:
            log.warning("SQLite cache %s: meta %r unreadable (%s)", self.path, name, exc)
            return None

    def set_meta(self, name: str, value: Any) -> None:
        text = encode(value)
        try:
            with self._write_lock:
                self._conn().execute(
                    "INSERT INTO meta(name, value, mtime) VALUES (?, ?, ?) ON CONFLICT(name) "
                    "DO UPDATE SET value = excluded.value, mtime = excluded.mtime",
                    (name, text, time.time()),
                )
        except sqlite3.Error as exc:
            self._runtime_error("meta write", exc)

    def meta_names(self) -> list[str]:
        """Names of the stored meta documents (for `smartcache-ls stats`)."""
        rows = self._conn().execute("SELECT name FROM meta ORDER BY name").fetchall()
        return [str(row[0]) for row in rows]

    def delete_meta(self, name: str) -> bool:
        with self._write_lock:
            return self._conn().execute("DELETE FROM meta WHERE name = ?", (name,)).rowcount > 0

    # stats, lifecycle ----------------------------------------------------------------
    def totals(self) -> tuple[int, int]:
        """(entries, bytes) in the file, counting every process's writes."""
        try:
            count, size = self._conn().execute(_TOTALS).fetchone()
        except sqlite3.Error:
            return 0, 0
        return int(count), int(size)

    def stats(self) -> dict[str, Any]:
        entries, nbytes = self.totals() if not self._closed else (0, 0)
        out = self._counter.snapshot(entries, nbytes).as_dict()
        out.update(
            {
                "maxBytes": self.max_bytes,
                "writes": self._writes,
                "expirations": self._expirations,
                "path": str(self.path),
            }
        )
        return out

    def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(sqlite3.Error):
            self.flush_access()
        self._closed = True
        self._close_all()

    def __enter__(self) -> SqliteTier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
