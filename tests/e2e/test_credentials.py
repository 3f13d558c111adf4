"""Redis credentials, in every form a URL carries them, never leave the server: not in its
stderr, not in window/logMessage, not in the stats reply, not in `smartcache-ls stats`,
not in the cache file. The query-string form authenticates against a real redis-server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smartcache_ls.engine import DB_NAME
from smartcache_ls.paths import path_to_uri

from ..cache.redis_server import RedisServer, free_port, raw, requires_redis_server
from .test_cli import run_cli
from .wire import WireServer

PW = "Hunter2-s3cr3t"


def _assert_nowhere(server: WireServer, cache: Path, reply: object) -> None:
    assert PW not in server.stderr, server.stderr
    assert all(PW not in m for m in server.log_messages())
    assert PW not in str(reply)
    assert server.close() == 0
    assert PW not in server.stderr
    for name in (DB_NAME, DB_NAME + "-wal"):
        if (cache / name).exists():
            assert PW.encode() not in (cache / name).read_bytes(), name
    for args in (("--json",), ()):
        out = run_cli("stats", "--cache-dir", str(cache), *args)
        assert out.returncode == 0, out.stderr
        assert PW not in out.stdout + out.stderr
        assert "***" in out.stdout or not args  # the table shows no URL at all


@pytest.mark.parametrize(
    "form",
    [
        "redis://user:{pw}@127.0.0.1:{port}/0",
        "rediss://:{pw}@127.0.0.1:{port}/0",
        "redis+cluster://:{pw}@127.0.0.1:{port}",
        "redis://127.0.0.1:{port}/0?db=0&password={pw}",
        "unix:///nonexistent/redis.sock?password={pw}&db=0",
    ],
)
def test_unreachable_redis_url_never_shows_its_password(form: str, workspace: Path, tmp_path: Path) -> None:
    url = form.format(pw=PW, port=free_port())
    cache = tmp_path / "cache"
    with WireServer("--log-level", "DEBUG") as server:
        server.initialize(workspace, cacheDir=str(cache), redisUrl=url)
        uri = path_to_uri(workspace / "models.py")
        assert server.result("smartcache/getAnalysis", {"uri": uri})["source"] == "computed"
        assert server.wait_for_log("unavailable"), server.stderr  # the warning names the URL
        assert "***" in server.stderr
        stats = server.result("smartcache/stats", {})
        assert "***" in stats["tiers"]["redis"]["url"]
        _assert_nowhere(server, cache, stats)


@requires_redis_server
def test_password_in_the_query_string_authenticates_and_stays_hidden(workspace: Path, tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis", None, "--requirepass", PW) as srv:
        url = f"redis://127.0.0.1:{srv.port}/0?password={PW}"
        cache = tmp_path / "cache"
        server = WireServer("--log-level", "DEBUG")
        server.initialize(workspace, cacheDir=str(cache), redisUrl=url)
        uri = path_to_uri(workspace / "models.py")
        assert server.result("smartcache/getAnalysis", {"uri": uri})["source"] == "computed"
        deadline = time.monotonic() + 10
        while not raw(srv).keys("smartcache:*") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert raw(srv).keys("smartcache:*"), "the query-string password did not authenticate"
        stats = server.result("smartcache/stats", {})
        redis = stats["tiers"]["redis"]
        assert redis["available"] and redis["url"].endswith("password=***")
        srv.kill()  # the outage warning names the URL
        server.result("smartcache/getAnalysis", {"uri": path_to_uri(workspace / "util.py")})
        assert server.wait_for_log("unavailable", client=True), server.log_messages()
        logs = server.log_messages()
        assert any("unavailable" in m and "password=***" in m for m in logs), logs
        _assert_nowhere(server, cache, stats)
