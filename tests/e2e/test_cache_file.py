"""The cache file through a real server: maxDiskMB bounds the files on disk (database +
WAL), and a cache file with damaged interior pages is noticed at start, set aside and
rebuilt while every request is still answered (the truncated file too)."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smartcache_ls.engine import DB_NAME
from smartcache_ls.paths import path_to_uri

from ..disk_usage import notes_workspace, on_disk
from .wire import WireServer

MB = 1 << 20


def test_max_disk_mb_bounds_the_files_on_disk(tmp_path: Path) -> None:
    files = notes_workspace(tmp_path / "ws", 120)
    assert sum(p.stat().st_size for p in files) > 12 * MB
    cache = tmp_path / "cache"
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], on_disk(cache))

    sampler = threading.Thread(target=sample)
    server = WireServer()
    server.initialize(tmp_path / "ws", cacheDir=str(cache), maxDiskMB=5, prefetch={"enabled": False})
    sampler.start()
    try:
        for path in files:
            uri = path_to_uri(path)
            assert server.result("smartcache/getFile", {"uri": uri})["source"] == "disk"
            server.result("smartcache/getAnalysis", {"uri": uri})
        stats = _settled_stats(server)
    finally:
        assert server.close() == 0
        done.set()
        sampler.join()
    assert on_disk(cache) <= 5 * MB  # at rest
    # while writing too (the WAL's share and one transaction's growth are kept free); 5% slack
    # for a truncating checkpoint that the server's own readers held off
    assert peak[0] <= 5 * MB * 1.05, peak[0]
    sqlite = stats["tiers"]["sqlite"]
    assert sqlite["evictions"] > 0 and sqlite["fileBound"] == 5 * MB


def _settled_stats(server: WireServer, timeout: float = 20.0) -> dict[str, Any]:
    """Stats once the write-behind queue has reached SQLite (every write asked for applied):
    on a loaded machine the writer can still be behind when the last request is answered."""
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, Any] = server.result("smartcache/stats", {})
        writes = stats["writes"]
        if writes["queued"] == 0 and stats["tiers"]["sqlite"]["evictions"] > 0:
            return stats
        if time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


def _filled_cache(workspace: Path, cache: Path) -> list[str]:
    """A cache file of a few hundred pages written by a real server; the uris it holds."""
    extra = workspace / "more"
    extra.mkdir()
    for i in range(60):
        (extra / f"mod_{i}.py").write_text(f"def f_{i}(x):\n    return x + {i}\n" * 60)
    uris = [path_to_uri(p) for p in sorted(extra.iterdir())]
    server = WireServer()
    server.initialize(workspace, cacheDir=str(cache))
    for uri in uris:
        server.result("smartcache/getAnalysis", {"uri": uri})
    assert server.close() == 0
    assert not (cache / f"{DB_NAME}-wal").exists() or os.path.getsize(cache / f"{DB_NAME}-wal") == 0
    return uris


def _damage_pages(db: Path, seed: int, pages: int = 10) -> None:
    count = os.path.getsize(db) // 4096
    assert count > 100
    rng = random.Random(seed)
    with open(db, "r+b") as fh:
        for page in rng.sample(range(2, count), pages):  # not page 1: the header is intact
            fh.seek(page * 4096)
            fh.write(rng.randbytes(4096))


@pytest.mark.parametrize("damage", ["pages", "truncated"])
def test_a_damaged_cache_file_is_noticed_set_aside_and_rebuilt(
    workspace: Path, tmp_path: Path, damage: str
) -> None:
    cache = tmp_path / "cache"
    uris = _filled_cache(workspace, cache)
    db = cache / DB_NAME
    if damage == "pages":
        _damage_pages(db, seed=11)
    else:
        with open(db, "r+b") as fh:
            fh.truncate(os.path.getsize(db) // 3)
    server = WireServer()
    server.initialize(workspace, cacheDir=str(cache))
    try:
        for uri in uris:  # every request answered, with the file's own text
            got = server.result("smartcache/getFile", {"uri": uri})
            assert got["text"] == Path(uri.removeprefix("file://")).read_text()
            server.result("smartcache/getAnalysis", {"uri": uri})
        assert server.wait_for_log("starting fresh"), server.stderr
        stats = server.result("smartcache/stats", {})
    finally:
        assert server.close() == 0
    sqlite = stats["tiers"]["sqlite"]
    assert sqlite.get("corruptions", 0) + ("setAside" in sqlite) >= 1 or damage == "truncated"
    aside = [p.name for p in cache.iterdir() if ".corrupt-" in p.name]
    assert aside, sorted(p.name for p in cache.iterdir())
    conn = sqlite3.connect(db)  # the rebuilt file is sound and holds this session's entries
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] > 0
    conn.close()
    # and the next session starts on it without setting anything else aside
    server = WireServer()
    server.initialize(workspace, cacheDir=str(cache))
    assert server.result("smartcache/getFile", {"uri": uris[0]})["source"] in ("sqlite", "memory")
    assert server.close() == 0
    assert "starting fresh" not in server.stderr
    assert [p.name for p in cache.iterdir() if ".corrupt-" in p.name] == aside
