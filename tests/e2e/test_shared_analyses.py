"""Analyses shared through Redis are verified by a real server before they are served:
planted values (another text's analysis, the right hash on the wrong shape, another
language, an oversized value) are refused, recomputed, counted, and overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smartcache_ls.analysis import analyze
from smartcache_ls.cache.redis import SHARED_ROOT
from smartcache_ls.content import content_hash
from smartcache_ls.paths import path_to_uri

from ..cache.redis_server import RedisServer, raw, requires_redis_server
from .test_lsp import request, start, stop

pytestmark = requires_redis_server


def _plants(ws: Path) -> dict[str, tuple[str, Any]]:
    """file name -> (its text, the value planted under its content-hash key)."""
    texts = {f"m{i}.py": f"def real_{i}():\n    return {i}\n" for i in range(5)}
    good = {name: analyze(name, text) for name, text in texts.items()}
    evil = analyze("evil.py", "def evil():\n    pass\n")
    planted_symbol = {"name": "evil", "kind": "function", "range": 7, "children": []}
    wrong_shape = {**good["m1.py"], "symbols": [planted_symbol]}
    huge = {**good["m3.py"], "imports": ["x" * 1000] * 2000}  # 2 MB for a 30-byte file
    plants = {
        "m0.py": evil,  # another text's analysis, its own (valid) hash
        "m1.py": wrong_shape,  # our hash, a range that is not one
        "m2.py": {**good["m2.py"], "language": "go"},  # our hash, another language
        "m3.py": huge,
        "m4.py": {**good["m4.py"], "hash": content_hash("other")},  # a hash that is not our text's
    }
    for name, text in texts.items():
        (ws / name).write_text(text)
    return {name: (texts[name], plants[name]) for name in texts}


async def test_planted_shared_analyses_are_not_served(
    workspace: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    plants = _plants(workspace)
    r = raw(redis_server)
    for text, value in plants.values():
        r.set(f"{SHARED_ROOT}{content_hash(text)}.python", json.dumps(value))
    client = await start(workspace, tmp_path / "cache", redisUrl=redis_server.url, shareAnalyses=True)
    try:
        from_redis = 0
        for name, (text, _) in plants.items():
            got = await request(client, "smartcache/getAnalysis", {"uri": path_to_uri(workspace / name)})
            # the request verifies the plant, or the background index got there first (it
            # refused the plant and shared the real analysis, which the request may then read
            # back from Redis): either way what is served is the real analysis, never a plant
            assert got["source"] in ("computed", "memory", "sqlite", "redis"), (name, got)
            from_redis += got["source"] == "redis"
            assert [s["name"] for s in got["symbols"]] == [f"real_{name[1]}"]
            assert got["hash"] == content_hash(text)
            assert got["language"] == "python" and got["imports"] == []
        stats = await request(client, "smartcache/stats", {})
        # each plant refused (twice if the index and a request verified it at the same moment)
        assert stats["tiers"]["redis"]["sharedRejected"] >= len(plants)
        assert stats["tiers"]["redis"]["sharedHits"] >= from_redis  # (the index's own reads too)
    finally:
        await stop(client)
    for text, _ in plants.values():  # the planted values were replaced by the real analyses
        stored = json.loads(r.get(f"{SHARED_ROOT}{content_hash(text)}.python"))
        assert stored == analyze("x.py", text)

    # and a teammate's real analysis is still taken (another workspace: no per-user entry of it)
    mate = tmp_path / "teammate"
    mate.mkdir()
    (mate / "copy.py").write_text(plants["m0.py"][0])
    other = await start(mate, tmp_path / "cache-2", redisUrl=redis_server.url, shareAnalyses=True)
    try:
        got = await request(other, "smartcache/getAnalysis", {"uri": path_to_uri(mate / "copy.py")})
        assert got["source"] == "redis" and got["symbols"][0]["name"] == "real_0"
        stats = await request(other, "smartcache/stats", {})
        assert stats["tiers"]["redis"]["sharedHits"] == 1
    finally:
        await stop(other)
