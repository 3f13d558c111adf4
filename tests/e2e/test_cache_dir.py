"""The cache is private: a real server creates its directories 0700 and every file 0600
whatever the umask, tightens a cache an older version left readable, and refuses a
directory other users can write into or that belongs to another user (serving from a
private session directory instead)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcache_ls.engine import DB_NAME
from smartcache_ls.paths import path_to_uri

from .wire import WireServer


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def serve_once(workspace: Path, cache: Path) -> tuple[dict[str, object], str, list[str]]:
    """Start a server on ``cache``, fetch a file and its analysis, stop: (stats, stderr, logMessages)."""
    with umask(0):  # the child inherits it: nothing may depend on the umask
        server = WireServer()
    server.initialize(workspace, cacheDir=str(cache))
    uri = path_to_uri(workspace / "models.py")
    assert server.result("smartcache/getFile", {"uri": uri})["text"].startswith("class Beta")
    server.result("smartcache/getAnalysis", {"uri": uri})
    stats = server.result("smartcache/stats", {})
    logged = server.log_messages()
    assert server.close() == 0
    return stats, server.stderr, logged


def test_created_private_whatever_the_umask(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "new" / "cache"
    stats, _, _ = serve_once(workspace, cache)
    assert stats["cacheDir"] == str(cache)
    assert mode(tmp_path / "new") == 0o700 and mode(cache) == 0o700
    assert DB_NAME in {p.name for p in cache.iterdir()}
    for path in cache.rglob("*"):  # files 0600 (sqlite's and the live link's), directories 0700
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_an_old_readable_cache_is_tightened(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    serve_once(workspace, cache)
    os.chmod(cache, 0o755)  # what earlier versions created
    for path in cache.iterdir():
        if path.is_file():
            os.chmod(path, 0o644)
    serve_once(workspace, cache)
    assert mode(cache) == 0o700
    assert all(mode(p) == 0o600 for p in cache.iterdir() if p.is_file())


def _assert_refused(workspace: Path, cache: Path, why: str) -> None:
    stats, stderr, logged = serve_once(workspace, cache)
    assert "cache directory refused" in stderr and why in stderr, stderr
    assert why in str(stats["cacheDirRefused"])  # the client can see it too
    # ... and was told: the warning of the `initialize` handler reaches window/logMessage
    assert any("cache directory refused" in m and why in m for m in logged), logged
    used = Path(str(stats["cacheDir"]))
    assert used != cache and not (cache / DB_NAME).exists()  # nothing written where others can reach
    assert not used.exists()  # the session directory goes with the server


def test_a_directory_writable_by_others_is_refused(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    cache.mkdir()
    os.chmod(cache, 0o777)
    _assert_refused(workspace, cache, "writable by other users")


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory of another user needs root")
def test_a_directory_of_another_user_is_refused(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "theirs"
    cache.mkdir(mode=0o700)
    os.chown(cache, 65534, 65534)
    _assert_refused(workspace, cache, "owned by uid 65534")
