"""SqliteTier on real files: bounds, TTL, persistence, corruption, two processes."""

from __future__ import annotations

import logging
import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from smartcache_ls.cache.codec import size_of
from smartcache_ls.cache.sqlite import SqliteTier

from .clock import FakeClock


def test_set_get_delete(tmp_path: Path) -> None:
    with SqliteTier(tmp_path / "c.db", 1_000_000) as s:
        assert s.get("a") is None
        s.set("a", {"text": "héllo", "n": [1, 2.5, None, True]})
        assert s.get("a") == {"text": "héllo", "n": [1, 2.5, None, True]}
        assert "a" in s
        assert s.delete("a")
        assert not s.delete("a")
        assert s.get("a") is None
        st = s.stats()
        assert (st["hits"], st["misses"], st["entries"], st["bytes"]) == (1, 2, 0, 0)


def test_wal_and_pragmas(tmp_path: Path) -> None:
    with SqliteTier(tmp_path / "c.db", 1000) as s:
        s.set("a", 1)
        conn = sqlite3.connect(tmp_path / "c.db")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()


def test_prefix_clear_and_meta(tmp_path: Path) -> None:
    with SqliteTier(tmp_path / "c.db", 1_000_000) as s:
        s.set_many([(f"ws1/{i}", i) for i in range(5)] + [(f"ws2/{i}", i) for i in range(5)])
        s.set_meta("model", {"v": 1, "edges": [["a", "b", 3]]})
        assert s.delete_prefix("ws1/") == 5
        assert s.get("ws1/2") is None and s.get("ws2/2") == 2
        s.clear()
        assert s.get("ws2/2") is None and s.stats()["entries"] == 0
        assert s.get_meta("model") == {"v": 1, "edges": [["a", "b", 3]]}
        assert s.get_meta("missing") is None


def test_meta_documents_by_prefix_are_written_and_deleted_together(tmp_path: Path) -> None:
    with SqliteTier(tmp_path / "c.db", 1_000_000) as s:
        s.set_meta("graph:ns", {"v": 1})
        s.write_meta(
            [("graph-file:ns:a.py", b'["a"]'), ("graph-file:ns:b.py", b'["b"]'), ("graph-file:nt:c", b"1")]
        )
        assert s.meta_with_prefix("graph-file:ns:") == [
            ("graph-file:ns:a.py", b'["a"]'),
            ("graph-file:ns:b.py", b'["b"]'),
        ]
        s.write_meta([("graph-file:ns:a.py", None), ("graph-file:ns:b.py", b'["b2"]')])
        assert s.meta_with_prefix("graph-file:ns:") == [("graph-file:ns:b.py", b'["b2"]')]
        assert s.get_meta("graph-file:ns:b.py") == ["b2"] and s.get_meta("graph:ns") == {"v": 1}
        s.clear()  # the cache's entries only
        assert len(s.meta_with_prefix("graph-file:")) == 2


def test_sizes_and_totals_are_exact(tmp_path: Path) -> None:
    with SqliteTier(tmp_path / "c.db", 1_000_000) as s:
        s.set("a", "x" * 10)
        s.set("b", {"k": "é"})
        s.set("a", "y" * 20)  # update changes the size
        assert s.stats()["bytes"] == size_of("y" * 20) + size_of({"k": "é"})
        assert s.stats()["entries"] == 2


def test_bounded_by_bytes_evicts_least_recently_accessed(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    with SqliteTier(tmp_path / "c.db", 1000, clock=clock) as s:
        value = "v" * 48  # 50 bytes as JSON
        for i in range(15):
            clock.now += 1
            s.set(f"k{i}", value)
        clock.now += 1
        assert s.get("k0") == value  # k0 becomes the most recently accessed (buffered)
        for i in range(15, 26):
            clock.now += 1
            s.set(f"k{i}", value)
        st = s.stats()
        assert st["bytes"] <= 1000
        assert st["evictions"] > 0
        assert s.get("k0") == value
        assert s.get("k1") is None
        assert s.get("k25") == value


def test_too_large_value_is_not_stored(tmp_path: Path) -> None:
    with SqliteTier(tmp_path / "c.db", 100) as s:
        s.set("a", "small")
        s.set("a", "x" * 200)
        assert s.get("a") is None
        assert s.stats()["bytes"] == 0


def test_reads_do_not_write_until_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with SqliteTier(path, 1_000_000) as s:
        s.set("a", 1)
        for _ in range(3):
            s.get("a")
        peek = sqlite3.connect(path)
        assert peek.execute("SELECT hits FROM entries WHERE key='a'").fetchone()[0] == 0
        s.flush_access()
        assert peek.execute("SELECT hits FROM entries WHERE key='a'").fetchone()[0] == 1
        peek.close()


def test_ttl_with_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    with SqliteTier(tmp_path / "c.db", 1_000_000, ttl=60, clock=clock) as s:
        s.set("a", 1)
        clock.now += 59
        assert s.get("a") == 1
        clock.now += 2
        assert s.get("a") is None
        assert s.stats()["entries"] == 0 and s.stats()["expirations"] == 1


def test_persistence_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    s = SqliteTier(path, 1_000_000)
    s.set_many([("a", [1, 2]), ("b", {"c": "d"})])
    s.set_meta("m", {"x": 1})
    s.close()
    s2 = SqliteTier(path, 1_000_000)
    assert s2.get("a") == [1, 2] and s2.get("b") == {"c": "d"}
    assert s2.get_meta("m") == {"x": 1}
    assert s2.stats()["entries"] == 2
    s2.close()


GARBAGE = [b"this is not a database\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_corrupt_file_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, garbage: bytes
) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(garbage)
    with caplog.at_level(logging.WARNING, logger="smartcache_ls.cache.sqlite"):
        s = SqliteTier(path, 1_000_000)
    aside = list(tmp_path.glob("c.db.corrupt-*"))
    assert len(aside) == 1 and s.set_aside == aside[0]
    assert aside[0].read_bytes() == garbage
    assert any("corrupt" in r.getMessage() for r in caplog.records)
    s.set("a", 1)
    assert s.get("a") == 1
    s.close()
    with SqliteTier(path, 1_000_000) as again:  # the fresh file is fine: nothing more set aside
        assert again.get("a") == 1
    assert len(list(tmp_path.glob("c.db.corrupt-*"))) == 1


def test_meta_never_evicted(tmp_path: Path) -> None:
    with SqliteTier(tmp_path / "c.db", 200) as s:
        s.set_meta("model", {"big": "x" * 1000})
        for i in range(50):
            s.set(f"k{i}", "v" * 20)
        assert s.get_meta("model") == {"big": "x" * 1000}
        assert s.stats()["bytes"] <= 200


_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from smartcache_ls.cache.sqlite import SqliteTier
    path, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    s = SqliteTier(path, 50_000_000)
    for i in range(n):
        s.set(f"{tag}/{i}", {"from": tag, "i": i})
        if i % 10 == 0:
            s.set_many([(f"{tag}/batch{i}/{j}", j) for j in range(5)])
    # wait for the other process's first key, then read it
    deadline = time.time() + 30
    other = "parent" if tag == "child" else "child"
    while s.get(f"{other}/0") is None and time.time() < deadline:
        time.sleep(0.01)
    print(s.get(f"{other}/0"))
    s.close()
    """
)


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    n = 200
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), tag, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("parent", "child")
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    assert "'from': 'child'" in outs[0][0]
    assert "'from': 'parent'" in outs[1][0]
    with SqliteTier(path, 50_000_000) as s:
        for tag in ("parent", "child"):
            assert all(s.get(f"{tag}/{i}") == {"from": tag, "i": i} for i in range(n))
        per_process = n + 5 * (n // 10)
        entries, nbytes = s.totals()
        assert entries == 2 * per_process
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT SUM(size) FROM entries").fetchone()[0] == nbytes
        conn.close()


def _file_backed_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssFile:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssFile in /proc/self/status")


def _mapped_while_reading(path: Path, memory_bytes: int | None) -> tuple[int, int, int]:
    """(cache_size, mmap_size, file-backed bytes that reading every entry back made resident)
    of a tier of 24 MB of entries under the memory budget ``memory_bytes``."""
    values = [{"text": random.Random(i).randbytes(4000).hex()} for i in range(3000)]
    with SqliteTier(path, 256 << 20, memory_bytes=memory_bytes, check_at_start=False) as s:
        for i, value in enumerate(values):
            s.set(f"k{i}", value)
        pragmas = s._run(
            "pragmas",
            lambda db: (
                db.execute("PRAGMA cache_size").fetchone()[0],
                db.execute("PRAGMA mmap_size").fetchone()[0],
            ),
            (0, 0),
        )
        before = _file_backed_bytes()
        for i, value in enumerate(values):
            assert s.get(f"k{i}") == value
        return pragmas[0], pragmas[1], _file_backed_bytes() - before


def test_a_small_memory_budget_bounds_what_sqlite_keeps_resident(tmp_path: Path) -> None:
    # the 256 MB default: 8 MB of page cache a connection, reads through a 64 MB mmap, so
    # reading the file back maps most of it
    cache, mmap, mapped = _mapped_while_reading(tmp_path / "default.db", 256 << 20)
    assert (cache, mmap) == (-8192, 64 << 20)
    assert mapped > 12 << 20
    # an 8 MB budget: 512 KB of page cache a connection, a 2 MB mmap; the rest is read()
    cache, mmap, mapped = _mapped_while_reading(tmp_path / "small.db", 8 << 20)
    assert (cache, mmap) == (-512, 2 << 20)
    assert mapped <= (2 << 20) + (1 << 20)
