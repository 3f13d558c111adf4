"""SqliteTier on disk: the bound holds for the files themselves (database + WAL), older
files are migrated to incremental auto-vacuum, and damaged pages are noticed (by any
statement, or by the quick check at start), set aside and rebuilt."""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from smartcache_ls.cache.sqlite import SqliteTier

MB = 1 << 20
SLACK = 0  # between writes, db + WAL are within the bound itself


def on_disk(path: Path) -> int:
    return sum(os.stat(p).st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


@pytest.mark.parametrize(
    ("sizes", "per_batch"),
    [((200, 2_000, 8_000, 30_000, 60_000), 20), ((200, 500_000, 1_500_000), 4)],  # files; large files
)
def test_files_on_disk_stay_under_the_bound(tmp_path: Path, sizes: tuple[int, ...], per_batch: int) -> None:
    path = tmp_path / "cache.sqlite3"
    rng = random.Random(7)
    written = 0
    with SqliteTier(path, 5 * MB) as tier:
        for _ in range(40):
            batch = [
                (f"ws:file:{rng.randrange(400)}", {"text": "x" * rng.choice(sizes)}) for _ in range(per_batch)
            ]
            tier.set_many(batch)
            written += sum(len(v["text"]) for _, v in batch)
            assert on_disk(path) <= 5 * MB + SLACK, (on_disk(path), written)
        stats = tier.stats()
        assert written > 2 * 5 * MB and stats["evictions"] > 0
        assert stats["fileBytes"] == on_disk(path) and stats["fileBound"] == 5 * MB
        assert stats["bytes"] > MB  # the bound is used, not emptied
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    conn.close()


def test_an_older_file_is_vacuumed_into_incremental_mode_and_shrunk(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    conn = sqlite3.connect(path)  # what earlier versions made: no auto-vacuum
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE filler(x)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("y" * 4000,) for _ in range(3000)])
    conn.commit()
    conn.execute("DELETE FROM filler")  # 12 MB of free pages that never left the file
    conn.commit()
    conn.close()
    assert on_disk(path) > 10 * MB
    tier = SqliteTier(path, 5 * MB)
    assert tier._checker is not None
    tier._checker.join(30)
    tier.set("a", 1)
    assert tier.get("a") == 1
    tier.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    conn.close()
    assert on_disk(path) <= 5 * MB


def _damaged(tmp_path: Path, seed: int, *, pages: int = 8) -> Path:
    """A real cache file of ~1,500 pages, closed cleanly, with ``pages`` interior pages overwritten."""
    path = tmp_path / "cache.sqlite3"
    with SqliteTier(path, 1 << 30) as tier:
        tier.set_many([(f"k{i}", {"text": f"v{i}" * 500}) for i in range(2000)])
        tier.set_meta("model", {"x": list(range(1000))})
    count = os.path.getsize(path) // 4096
    rng = random.Random(seed)
    with open(path, "r+b") as fh:
        for page in rng.sample(range(1, count), pages):  # page 1 (index 0) holds the header
            fh.seek(page * 4096)
            fh.write(rng.randbytes(4096))
    return path


def _assert_rebuilt(tier: SqliteTier, path: Path) -> None:
    assert tier.set_aside is not None and tier.set_aside.exists()
    assert tier.stats()["corruptions"] == 1
    tier.set("fresh", {"ok": True})
    assert tier.get("fresh") == {"ok": True}
    tier.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_read_that_meets_a_damaged_page_sets_the_file_aside(
    tmp_path: Path, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    path = _damaged(tmp_path, seed)
    with caplog.at_level(logging.WARNING, logger="smartcache_ls.cache.sqlite"):
        tier = SqliteTier(path, 1 << 30, check_at_start=False)
        values = [tier.get(f"k{i}") for i in range(2000)]  # never raises
    assert all(v is None or v == {"text": f"v{i}" * 500} for i, v in enumerate(values))
    assert any("unreadable" in r.getMessage() and "malformed" in r.getMessage() for r in caplog.records)
    _assert_rebuilt(tier, path)


def test_the_quick_check_at_start_finds_what_no_read_touched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _damaged(tmp_path, 4)
    with caplog.at_level(logging.WARNING, logger="smartcache_ls.cache.sqlite"):
        tier = SqliteTier(path, 1 << 30)
        assert tier._checker is not None
        tier._checker.join(30)
    assert any("quick_check" in r.getMessage() for r in caplog.records)
    _assert_rebuilt(tier, path)


def test_threads_reading_and_writing_while_the_file_is_rebuilt(tmp_path: Path) -> None:
    path = _damaged(tmp_path, 5, pages=40)
    tier = SqliteTier(path, 1 << 30, check_at_start=False)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(300):
                tier.get(f"k{(i * 7 + n) % 2000}")
                if i % 10 == 0:
                    tier.set(f"t{n}/{i}", i)
                    tier.get_meta("model")
        except BaseException as exc:  # any escape is the failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert tier.stats()["corruptions"] == 1  # noticed by many threads, rebuilt once
    tier.set("after", 1)
    assert tier.get("after") == 1
    tier.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


def test_a_closed_tier_answers_misses_and_drops_writes(tmp_path: Path) -> None:
    tier = SqliteTier(tmp_path / "cache.sqlite3", 1 << 20)
    tier.set("a", 1)
    tier.close()
    assert tier.get("a") is None and "a" not in tier and tier.get_meta("m") is None
    tier.set("b", 2)  # dropped, no exception
    assert tier.apply((("delete", "a"),)) == 0

    other: list[object] = []  # a thread that never used it, after close
    thread = threading.Thread(target=lambda: other.append(tier.get("a")))
    thread.start()
    thread.join(10)
    assert other == [None]


_READER_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from smartcache_ls.cache.sqlite import SqliteTier
    tier = SqliteTier(Path(sys.argv[1]), 1 << 30, check_at_start=False)
    tag = sys.argv[2]
    print("ready", flush=True)
    sys.stdin.readline()
    for r in range(30):
        for i in range(0, 2000, 7):
            tier.get(f"k{i}")
        tier.set_many([(f"{tag}/{r}/{j}", j) for j in range(50)])
        time.sleep(0.02)
    print(tier.stats()["corruptions"], all(tier.get(f"{tag}/29/{j}") == j for j in range(50)), flush=True)
    tier.close()
    """
)


def test_two_processes_on_a_damaged_file_both_recover(tmp_path: Path) -> None:
    path = _damaged(tmp_path, 6, pages=0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _READER_WRITER, str(path), tag],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in "ab"
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    rng = random.Random(6)  # damage the file while both have it open
    count = os.path.getsize(path) // 4096
    with open(path, "r+b") as fh:
        for page in rng.sample(range(2, count), 20):
            fh.seek(page * 4096)
            fh.write(rng.randbytes(4096))
    outs = [proc.communicate("go\n", timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
        assert out.split() == ["1", "True"], (out, err)  # noticed once each, own writes readable
    assert any(p.name.startswith(f"{path.name}.corrupt-") for p in tmp_path.iterdir())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    for tag in "ab":  # every batch of both processes, written after the rebuild or before it
        assert conn.execute("SELECT count(*) FROM entries WHERE key LIKE ?", (f"{tag}/%",)).fetchone()[0] > 0
    conn.close()
