"""SQLite tier: one database file, shared safely by threads and by processes.

* WAL journal, ``synchronous=NORMAL``, ``busy_timeout``; one connection per thread
  (readers never wait for the writer); statements are prepared once per connection
  (sqlite3's statement cache).
* Table ``entries(key, value JSON text, size, atime, hits, expires_at)``, bounded by
  bytes: running totals kept by triggers (exact across processes), eviction of
  expired entries first, then least recently accessed, down to a low-water mark.
* The bound is also on the files the user sees: the database file plus its WAL stay
  under ``max_bytes`` (at least ``MIN_FILE_BOUND``), while writing too. The WAL gets a
  quarter of it (``wal_autocheckpoint`` and ``journal_size_limit``, and write batches
  split into transactions of a sixteenth), the database the rest less two transactions'
  growth: when its pages pass that, rows are evicted until the live pages are under the
  low-water mark, and freed pages are given back (the WAL checkpointed and truncated,
  ``incremental_vacuum`` with ``auto_vacuum = INCREMENTAL``, truncated again; an older file
  is migrated with one ``VACUUM`` at start). For a small bound that leaves about 60% of it
  to entries (5 MB: 2.9-3.3 MB); for the default 1 GB, 91%.
* Reads do not write: access times and hit counts are buffered in memory and
  applied in one statement batch with the next write (or ``flush_access()``).
* Table ``meta(name, value JSON)`` for persistent documents, never evicted: small ones, or
  many small ones under one name prefix (the reference graph's entries, one per file).
* Corruption is noticed: a file that is not a database, SQLITE_CORRUPT / SQLITE_NOTADB
  from any statement, or a failed ``PRAGMA quick_check`` (run at start in the
  background, bounded to ``QUICK_CHECK_SECONDS``) sets the file aside as
  ``<name>.corrupt-<timestamp>`` (warning logged) and a fresh database is created; the
  statement that failed answers as a miss (a write is retried once on the fresh file).
  Every connection of this process is closed before the rename (each thread's
  connection says when it is in use, see ``_Slot``), so none can later delete the new
  file's -wal or -shm by name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .batched import BatchedTier
from .codec import CodecError, decode, encode, encode_sized
from .codec import loads as _loads
from .private import create_private_file, make_private_dirs
from .stats import StatsCounter

__all__ = ["SCHEMA_VERSION", "Op", "SqliteTier"]

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = 1
ACCESS_BUFFER = 4096  # distinct keys whose access time waits for the next write
EVICT_CHUNK = 256
TOTALS_EVERY = 32
CACHE_BYTES = 8 << 20  # page cache per connection, at most ...
MMAP_BYTES = 64 << 20  # ... and reads through mmap (no read() syscall per page), at most
MIN_FILE_BOUND = 256 << 10  # an empty cache file and its WAL take a few pages
WAL_SHARE = 4  # the WAL's share of the file bound: 1/4 ...
WAL_MIN, WAL_MAX = 64 << 10, 64 << 20  # ... within these
WAL_PAGES = 1000  # SQLite's default autocheckpoint, the most we let the WAL grow before one
WAL_LOOK_EVERY = 64  # transactions between looks at the WAL's size
QUICK_CHECK_SECONDS = 1.0
MIGRATE_SECONDS = 5.0  # the one VACUUM of an older file, holding our write lock
CHECKPOINT_BUSY_MS = 100  # a truncating checkpoint waits this long for readers, then gives up

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
_META_UPSERT = (
    "INSERT INTO meta(name, value, mtime) VALUES (?, ?, ?) ON CONFLICT(name) "
    "DO UPDATE SET value = excluded.value, mtime = excluded.mtime"
)
_TOUCH = "UPDATE entries SET atime = ?, hits = hits + 1 WHERE key = ?"
_TOTALS = "SELECT count, size FROM totals WHERE id = 0"

_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _is_corruption(exc: sqlite3.Error) -> bool:
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
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


class _QuickCheckFailed(sqlite3.DatabaseError):
    sqlite_errorcode = 11  # reported like SQLITE_CORRUPT


def _as_bytes(stored: str | bytes) -> bytes:
    """A stored value as bytes (values are written as bytes; TEXT rows of older caches are str)."""
    return stored.encode() if isinstance(stored, str) else stored


def _prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """[low, high) key range of a prefix under SQLite's binary (UTF-8 order) collation."""
    if not prefix:
        return "", None
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return prefix, None
    return prefix, prefix[:-1] + chr(last + 1)


class _Slot:
    """One thread's connection, and whether that thread is using it, so that a rebuild can
    close every connection safely (``db`` is None once it is being closed).

    The owner sets ``busy`` and then reads ``db``; a rebuild clears ``db`` and then waits for
    ``busy`` to drop before it closes the connection. Under the GIL these plain attribute
    writes are seen in order, so no owner can start on a connection that is being closed,
    and no lock (about 0.3 us, 7% of a read) is taken per statement."""

    __slots__ = ("busy", "db", "gen")

    def __init__(self, db: sqlite3.Connection, gen: int) -> None:
        self.db: sqlite3.Connection | None = db
        self.gen = gen
        self.busy = False


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (BEGIN IMMEDIATE): committed when the block ends, rolled back if it
    raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def memory_shares(memory_bytes: int | None) -> tuple[int, int]:
    """SQLite's page cache per connection and its mmap of the file, for a process whose memory
    budget (``maxMemoryMB``) is ``memory_bytes``: both are resident (the cache anonymous, the
    mapped pages file-backed), so under a small budget they take a share of it, 1/16 a
    connection and 1/4, not the fixed 8 and 64 MB that a 256 MB budget gets."""
    if memory_bytes is None:
        return CACHE_BYTES, MMAP_BYTES
    cache = min(CACHE_BYTES, max(256 << 10, memory_bytes // 16))
    mmap = min(MMAP_BYTES, max(1 << 20, memory_bytes // 4))
    return cache, mmap


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
        check_at_start: bool = True,
        memory_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._cache_bytes, self._mmap_bytes = memory_shares(memory_bytes)
        self.max_bytes = max_bytes
        self.ttl = ttl if ttl and ttl > 0 else None
        self._clock = clock
        self._busy_ms = int(busy_timeout * 1000)
        self._low_water = low_water
        self.file_bound = max(max_bytes, MIN_FILE_BOUND)
        self._wal_budget = min(max(self.file_bound // WAL_SHARE, WAL_MIN), WAL_MAX)
        self._txn_bytes = self._wal_budget // 4  # data per transaction before a batch is split
        # the database's pages, with room for what one transaction adds before its eviction
        self._db_budget = self.file_bound - self._wal_budget - 2 * self._txn_bytes
        self._page_size = 4096
        self._wal_path = self.path.with_name(self.path.name + "-wal")
        self._local = threading.local()
        self._slots: list[_Slot] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer transaction per process at a time
        self._rebuild_lock = threading.RLock()  # new connections wait out a rebuild
        self._gen = 0  # which file the connections are of: +1 per rebuild
        self._inode: tuple[int, int] | None = None
        self._touches: dict[str, float] = {}
        self._counter = StatsCounter()
        self._writes = 0
        self._expirations = 0
        self._corruptions = 0
        self._estimate = 1 << 62  # bytes in the file as far as we know (forces a first reading)
        self._file_estimate = 1 << 62  # bytes of database pages as far as we know
        self._since_check = 0
        self._txns = 0
        self._closed = False
        self._error_logged = False
        self.set_aside: Path | None = None  # where a corrupt file went, if one was found
        make_private_dirs(self.path.parent)
        self._open_checked()
        self._checker: threading.Thread | None = None
        if check_at_start:
            self._checker = threading.Thread(
                target=self._check_at_start, name="smartcache-sqlite-check", daemon=True
            )
            self._checker.start()

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
        conn.execute(f"PRAGMA cache_size = {-(self._cache_bytes >> 10)}")
        conn.execute(f"PRAGMA mmap_size = {self._mmap_bytes}")
        # the WAL stays within its share of the bound: checkpointed once a transaction more
        # would pass it (or at SQLite's default of 1,000 pages: reads from a long WAL are
        # slower than from the file), and cut back to that when a checkpoint lets it restart
        pages = min(WAL_PAGES, max(8, (self._wal_budget - self._txn_bytes) // self._page_size))
        conn.execute(f"PRAGMA wal_autocheckpoint = {pages}")
        conn.execute(f"PRAGMA journal_size_limit = {pages * self._page_size}")
        return conn

    def _current(self) -> _Slot:
        """This thread's live connection (a new one after a rebuild closed the old)."""
        try:
            slot: _Slot = self._local.slot
        except AttributeError:
            return self._new_slot()
        if slot.db is None:
            return self._new_slot()
        return slot

    def _new_slot(self) -> _Slot:
        with self._rebuild_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("SqliteTier is closed")
            slot = _Slot(self._connect(), self._gen)
            self._local.slot = slot
            with self._conns_lock:
                self._slots = [s for s in self._slots if s.db is not None]
                self._slots.append(slot)
            return slot

    def _run(self, what: str, fn: Callable[[sqlite3.Connection], T], default: T, *, write: bool = False) -> T:
        """``fn(connection)`` on this thread's connection (holding the write lock if ``write``).

        A failure is logged and answers ``default``; after corruption (the file set aside and
        rebuilt) ``fn`` runs once more, on the fresh file."""
        for attempt in range(2):
            while True:
                try:
                    slot = self._current()
                except sqlite3.ProgrammingError:  # closed: the cache answers nothing
                    return default
                with self._write_lock if write else contextlib.nullcontext():
                    slot.busy = True
                    db = slot.db
                    if db is not None:
                        try:
                            return fn(db)
                        except sqlite3.Error as exc:
                            failure = exc
                        finally:
                            slot.busy = False
                        break
                    slot.busy = False
            if not self._failed(what, failure, slot) or attempt:
                return default
        return default

    def _failed(self, what: str, exc: sqlite3.Error, slot: _Slot) -> bool:
        """Log a failed statement; on corruption, set the file aside and rebuild. True if the
        file was (or had just been) rebuilt, so the statement may be tried again."""
        if _is_corruption(exc):
            self._rebuild(exc, slot.gen)
            return True
        if not self._error_logged:
            self._error_logged = True
            log.warning("SQLite cache %s: %s failed: %s (further errors not logged)", self.path, what, exc)
        else:
            log.debug("SQLite cache %s: %s failed: %s", self.path, what, exc)
        return False

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
        conn = self._current().db
        assert conn is not None
        st = os.stat(self.path)
        self._inode = (st.st_dev, st.st_ino)
        if st.st_size == 0:  # a new file: freed pages can be given back (set before any table)
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != "wal":
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
            if mode != "wal":
                log.warning("SQLite cache %s: journal_mode is %s, not wal", self.path, mode)
        self._page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return  # an existing cache: nothing to write, no write lock to wait for
        with _immediate(conn):
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

    def _rebuild(self, exc: BaseException, gen: int) -> None:
        """The file of generation ``gen`` is corrupt: close every connection, set it aside, start fresh."""
        with self._rebuild_lock:
            if gen != self._gen or self._closed:
                return  # another thread rebuilt it already
            self._corruptions += 1
            with self._write_lock:
                self._close_all()
                self._gen += 1
                try:
                    st = os.stat(self.path)
                    ours = (st.st_dev, st.st_ino) == self._inode
                except FileNotFoundError:
                    ours = False
                try:
                    if ours:
                        self._set_aside(exc)
                    else:  # another process set it aside and made a new one: use that
                        log.warning("SQLite cache %s was replaced in use (%s): reopened", self.path, exc)
                    self._estimate = self._file_estimate = 1 << 62
                    self._open_checked()
                except (OSError, sqlite3.Error) as again:
                    log.warning("SQLite cache %s could not be rebuilt: %s", self.path, again)

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
            slots, self._slots = self._slots, []
        for slot in slots:
            db, slot.db = slot.db, None
            if db is None:
                continue
            while slot.busy:  # its thread is running a statement on it: let that finish
                time.sleep(0.001)
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _check_at_start(self) -> None:
        """Background, once: a quick check bounded in time, the auto-vacuum migration, the bound."""
        deadline = time.monotonic() + QUICK_CHECK_SECONDS

        def check(db: sqlite3.Connection) -> str | None:
            db.set_progress_handler(lambda: int(time.monotonic() > deadline or self._closed), 10_000)
            try:
                rows = db.execute("PRAGMA quick_check(1)").fetchall()
            except sqlite3.OperationalError as exc:
                if "interrupt" not in str(exc):
                    raise
                log.debug("SQLite cache %s: quick check stopped after %.1f s", self.path, QUICK_CHECK_SECONDS)
                return None
            finally:
                db.set_progress_handler(None, 0)
            return None if rows and rows[0][0] == "ok" else str(rows[0][0] if rows else "no answer")

        try:
            gen = self._gen
            problem = self._run("quick check", check, None)
            if problem is not None:
                self._rebuild(_QuickCheckFailed(f"quick_check: {problem}"), gen)
            if not self._closed:
                self._run("vacuum migration", self._migrate_auto_vacuum, None, write=True)
            if not self._closed and self.file_bytes() > self.file_bound:  # an older, larger file
                self._run("write", lambda db: self._transaction(db, (), {}), 0, write=True)
        except sqlite3.ProgrammingError:
            pass  # closed meanwhile
        finally:
            with contextlib.suppress(AttributeError):
                del self._local.slot  # this thread ends: its connection is closed at close()

    def _migrate_auto_vacuum(self, db: sqlite3.Connection) -> None:
        """One VACUUM turns on incremental auto-vacuum in a file made without it; bounded to
        MIGRATE_SECONDS (a large file keeps its mode and is tried again at the next start)."""
        if int(db.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2:
            return
        deadline = time.monotonic() + MIGRATE_SECONDS
        db.set_progress_handler(lambda: int(time.monotonic() > deadline or self._closed), 10_000)
        try:
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("VACUUM")
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc):
                raise
            log.info("SQLite cache %s: auto-vacuum migration stopped after %s s", self.path, MIGRATE_SECONDS)
            return
        finally:
            db.set_progress_handler(None, 0)
        log.info("SQLite cache %s: migrated to incremental auto-vacuum", self.path)
        self._checkpoint(db)

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        """Copy the WAL into the database and truncate it (and the file, if pages were freed),
        waiting at most CHECKPOINT_BUSY_MS for readers."""
        db.execute(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")

    # reads --------------------------------------------------------------------------
    def get_with_size(
        self, key: str, *, count: bool = True, raw: bool = False
    ) -> tuple[Any, int] | None:
        """(value, stored size in bytes) or None; ``count=False`` records no hit/miss; ``raw``:
        the stored bytes as they are, not decoded."""
        row = None
        failure: sqlite3.Error | None = None
        while True:
            try:
                slot: _Slot = self._local.slot
            except AttributeError:
                try:
                    slot = self._new_slot()
                except sqlite3.ProgrammingError:  # closed: a miss
                    break
            slot.busy = True
            db = slot.db
            if db is not None:
                try:
                    row = db.execute(_GET, (key,)).fetchone()
                except sqlite3.Error as exc:
                    failure = exc
                finally:
                    slot.busy = False
                break
            slot.busy = False
            try:
                self._new_slot()  # a rebuild closed this thread's connection
            except sqlite3.ProgrammingError:  # or the tier was closed: a miss
                break
        if failure is not None:
            self._failed("read", failure, slot)  # a rebuilt file has nothing: a miss
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
            value = _as_bytes(text) if raw else _loads(text)
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
        row = self._run("read", lambda db: db.execute(_GET, (key,)).fetchone(), None)
        return row is not None and (row[2] is None or row[2] > self._clock())

    def _delete_if_expired(self, key: str, now: float) -> None:
        self._run(
            "expire",
            lambda db: db.execute("DELETE FROM entries WHERE key = ? AND expires_at <= ?", (key, now)),
            None,
            write=True,
        )

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
        """Run write operations in order, in one transaction (several, if the batch is larger
        than the WAL's share of the bound); evict if over the bound.

        Returns how many rows deletions removed. Errors are logged, not raised
        (a cache write that fails is a lost write, never a failed request)."""
        if self._closed:
            return 0
        touches, self._touches = self._touches, {}
        return self._run("write", lambda db: self._transaction(db, ops, touches), 0, write=True)

    def _transaction(self, conn: sqlite3.Connection, ops: Sequence[Op], touches: dict[str, float]) -> int:
        now = self._clock()
        expires = now + self.ttl if self.ttl is not None else None
        removed = 0
        added = 0
        shrunk = False
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                kind = op[0]
                if kind == "set":
                    _, key, text, size = op
                    if size > self.max_bytes:
                        removed += conn.execute(_DELETE, (key,)).rowcount
                        continue
                    if added and added + size > self._txn_bytes:
                        # the WAL holds a whole transaction: commit what it holds so far
                        shrunk |= self._evict(conn, now, added)
                        conn.execute("COMMIT")
                        conn.execute("BEGIN IMMEDIATE")
                        added = 0
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
            shrunk |= self._evict(conn, now, added)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        if shrunk:
            # every free page leaves the file (executescript steps the pragma to its end, which
            # execute() does not; no transaction is open here for it to commit), with the WAL
            # emptied first so that the pages the vacuum moves fit in it
            self._checkpoint(conn)
            conn.executescript("PRAGMA incremental_vacuum;")
        self._txns += 1
        # the WAL's size (a stat, 2-50 us here) now and then, and after a large transaction:
        # it stays under its share unless readers keep the automatic checkpoints from finishing
        look = added > self._txn_bytes // 2 or not self._txns % WAL_LOOK_EVERY
        if shrunk or (look and self._wal_bytes() > self._wal_budget):
            self._checkpoint(conn)  # the WAL goes into the database file, which shrinks; emptied
        return removed

    def _wal_bytes(self) -> int:
        try:
            return os.stat(self._wal_path).st_size
        except OSError:
            return 0

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

    def _evict(self, conn: sqlite3.Connection, now: float, added: int) -> bool:
        """Evict down to the low-water mark if the entries' bytes or the file's pages are over
        the bound; True if rows were evicted (the caller then checkpoints)."""
        # The exact totals (kept by triggers, every process's writes) and the page count are
        # read when our own writes since the last reading could have crossed a bound (a
        # value takes at most about twice its size in pages), or every TOTALS_EVERY
        # transactions, not on every write.
        self._since_check += 1
        self._estimate += added
        page = self._page_size
        self._file_estimate += 2 * added + page
        if (
            self._estimate <= self.max_bytes
            and self._file_estimate <= self._db_budget
            and self._since_check < TOTALS_EVERY
        ):
            return False
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        file_over = pages * page > self._db_budget
        size = conn.execute(_TOTALS).fetchone()[1]
        self._since_check = 0
        self._estimate = size
        self._file_estimate = pages * page
        if size <= self.max_bytes and not file_over:
            return False
        conn.execute("DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        # Pages in use, without the free ones (which the caller's vacuum gives back).
        live = pages - int(conn.execute("PRAGMA freelist_count").fetchone()[0]) if file_over else 0
        shrunk = file_over
        goal = int(self._db_budget * self._low_water) // page
        for _ in range(4):  # the bytes-per-page ratio is an estimate: measure again after a round
            count, size = conn.execute(_TOTALS).fetchone()
            target = int(self.max_bytes * self._low_water)
            if live > goal:
                target = min(target, int(size * goal / live))
            if size <= target or not self._evict_rows(conn, size, count, target):
                break
            shrunk = True
            pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
            live = pages - int(conn.execute("PRAGMA freelist_count").fetchone()[0])
            if live <= goal:
                break
        self._estimate = conn.execute(_TOTALS).fetchone()[1]
        self._file_estimate = 1 << 62  # read the pages again after the vacuum
        return shrunk

    def _evict_rows(self, conn: sqlite3.Connection, size: int, count: int, target: int) -> bool:
        evicted = False
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
            evicted = True
        return evicted

    # meta ---------------------------------------------------------------------------
    def get_meta(self, name: str) -> Any | None:
        sql = "SELECT value FROM meta WHERE name = ?"
        row = self._run("meta read", lambda db: db.execute(sql, (name,)).fetchone(), None)
        if row is None:
            return None
        try:
            return decode(row[0])
        except CodecError as exc:
            log.warning("SQLite cache %s: meta %r unreadable (%s)", self.path, name, exc)
            return None

    def meta_size(self, name: str) -> int | None:
        """How large a stored meta document is (without reading it), or None when there is none."""
        sql = "SELECT length(value) FROM meta WHERE name = ?"
        row = self._run("meta read", lambda db: db.execute(sql, (name,)).fetchone(), None)
        return None if row is None else int(row[0] or 0)

    def set_meta(self, name: str, value: Any) -> None:
        text = encode(value)
        self._run(
            "meta write",
            lambda db: db.execute(_META_UPSERT, (name, text, time.time())),
            None,
            write=True,
        )

    def meta_with_prefix(self, prefix: str) -> list[tuple[str, bytes]]:
        """(name, encoded JSON) of every meta document whose name starts with ``prefix``, not
        decoded: a caller with many of them decodes one at a time."""
        low, high = _prefix_bounds(prefix)
        args: tuple[str, ...] = (low,) if high is None else (low, high)
        sql = "SELECT name, value FROM meta WHERE name >= ?" + ("" if high is None else " AND name < ?")
        rows: list[Any] = self._run("meta read", lambda db: db.execute(sql, args).fetchall(), [])
        return [(str(name), _as_bytes(value)) for name, value in rows]

    def write_meta(self, docs: Sequence[tuple[str, bytes | None]]) -> None:
        """Set (to encoded JSON) or delete (None) several meta documents, in one transaction."""
        sets = [(name, value, time.time()) for name, value in docs if value is not None]
        deletes = [(name,) for name, value in docs if value is None]
        if not sets and not deletes:
            return

        def write(db: sqlite3.Connection) -> None:
            with _immediate(db):
                db.executemany(_META_UPSERT, sets)
                db.executemany("DELETE FROM meta WHERE name = ?", deletes)

        self._run("meta write", write, None, write=True)

    def release_memory(self) -> None:
        """Free the page cache of this thread's connection (``PRAGMA shrink_memory``): a large
        write (the reference graph's 50,000 rows) leaves it full, up to its ``cache_size``, for
        as long as the thread lives (8.7 MB of a server once its 100k-file tree was indexed);
        reads refill it through the mmap as they need."""
        self._run("release memory", lambda db: db.execute("PRAGMA shrink_memory"), None)

    def meta_names(self) -> list[str]:
        """Names of the stored meta documents (for `smartcache-ls stats`)."""
        sql = "SELECT name FROM meta ORDER BY name"
        rows: list[Any] = self._run("meta read", lambda db: db.execute(sql).fetchall(), [])
        return [str(row[0]) for row in rows]

    def delete_meta(self, name: str) -> bool:
        return self._run(
            "meta write",
            lambda db: db.execute("DELETE FROM meta WHERE name = ?", (name,)).rowcount > 0,
            False,
            write=True,
        )

    # stats, lifecycle ----------------------------------------------------------------
    def totals(self) -> tuple[int, int]:
        """(entries, bytes) in the file, counting every process's writes."""
        row = self._run("read", lambda db: db.execute(_TOTALS).fetchone(), None)
        if row is None:
            return 0, 0
        return int(row[0]), int(row[1])

    def file_bytes(self) -> int:
        """Bytes on disk: the database file and its WAL."""
        total = 0
        for name in (self.path, self._wal_path):
            with contextlib.suppress(OSError):
                total += os.stat(name).st_size
        return total

    def stats(self) -> dict[str, Any]:
        entries, nbytes = self.totals() if not self._closed else (0, 0)
        out = self._counter.snapshot(entries, nbytes).as_dict()
        out.update(
            {
                "maxBytes": self.max_bytes,
                "fileBytes": self.file_bytes(),
                "fileBound": self.file_bound,
                "writes": self._writes,
                "expirations": self._expirations,
                "corruptions": self._corruptions,
                "path": str(self.path),
            }
        )
        if self.set_aside is not None:
            out["setAside"] = str(self.set_aside)
        return out

    def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(sqlite3.Error):
            self.flush_access()
        self._closed = True
        if self._checker is not None and self._checker is not threading.current_thread():
            self._checker.join(timeout=5)
        with self._rebuild_lock:
            self._close_all()

    def __enter__(self) -> SqliteTier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
