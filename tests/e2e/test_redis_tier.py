"""The Redis tier through the real server: a second machine's server reads what the first stored,
teammates share analyses by content hash, and Redis going away degrades to the local tiers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from smartcache_ls.paths import path_to_uri

from ..cache.redis_server import RedisServer, raw, requires_redis_server
from .test_lsp import request, start, stop

pytestmark = requires_redis_server


async def test_redis_tier_serves_a_second_server_and_survives_an_outage(
    workspace: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    uri = path_to_uri(workspace / "models.py")
    first = await start(workspace, tmp_path / "cache-a", redisUrl=redis_server.url)
    try:
        computed = await request(first, "smartcache/getAnalysis", {"uri": uri})
        assert computed["source"] == "computed"
        stats = await request(first, "smartcache/stats", {})
        assert "redis" in stats["tiers"]
    finally:
        await stop(first)  # flushes queued writes to SQLite and Redis

    # Another server with an empty local cache (another machine of the fleet) finds it in Redis.
    second = await start(workspace, tmp_path / "cache-b", redisUrl=redis_server.url)
    try:
        remote = await request(second, "smartcache/getAnalysis", {"uri": uri})
        assert remote["source"] == "redis" and remote["symbols"] == computed["symbols"]
        redis_server.kill()
        util = path_to_uri(workspace / "util.py")
        served = await request(second, "smartcache/getAnalysis", {"uri": util})
        assert served["source"] == "computed" and served["symbols"][0]["name"] == "helper"
        again = await request(second, "smartcache/getAnalysis", {"uri": util})
        assert again["source"] == "memory"
        redis_server.start()  # empty again (no persistence): anything in it now was written after recovery
        await asyncio.sleep(1.5)  # past the first back-off step of the circuit breaker
        app = path_to_uri(workspace / "app.py")
        assert (await request(second, "smartcache/getAnalysis", {"uri": app}))["source"] == "computed"
    finally:
        await stop(second)  # flushes the queued writes
    keys = raw(redis_server).keys("smartcache:*")
    assert keys, "nothing reached Redis after it came back"


async def test_shared_analyses_across_workspaces_by_content_hash(
    workspace: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    other = tmp_path / "teammate"
    other.mkdir()
    (other / "renamed_models.py").write_text((workspace / "models.py").read_text())
    mine = await start(workspace, tmp_path / "cache-a", redisUrl=redis_server.url, shareAnalyses=True)
    try:
        await request(mine, "smartcache/getAnalysis", {"uri": path_to_uri(workspace / "models.py")})
    finally:
        await stop(mine)
    theirs = await start(other, tmp_path / "cache-b", redisUrl=redis_server.url, shareAnalyses=True)
    try:
        uri = path_to_uri(other / "renamed_models.py")
        shared = await request(theirs, "smartcache/getAnalysis", {"uri": uri})
        assert shared["source"] == "redis"
        assert [s["name"] for s in shared["symbols"]] == ["Beta", "make_beta"]
    finally:
        await stop(theirs)
