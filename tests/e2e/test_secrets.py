"""Secrets through a real server with SQLite and Redis: every request about one is refused with
reason "secret", none is predicted or prefetched, and nothing of theirs reaches either store."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import RpcError

from ..cache.redis_server import RedisServer, raw, requires_redis_server
from .test_confinement import answer, server

pytestmark = requires_redis_server

MARK = "SECRETMARK7f3a"
SECRET_FILES = {
    ".env": f"API_TOKEN={MARK}env\n",
    "deploy/server.pem": f"-----BEGIN PRIVATE KEY-----\n{MARK}pem\n",
    "config/credentials.json": f'{{"token": "{MARK}json"}}\n',
    "id_ed25519": f"{MARK}ssh\n",
}


def git(ws: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=ws,
        check=True,
        capture_output=True,
    )


def make(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("import settings\n\n\ndef main():\n    return settings.X\n")
    (ws / "src" / "settings.py").write_text("X = 1\n")
    (ws / "settings.txt").symlink_to(ws / ".env")  # an innocent name for a secret
    for rel, text in SECRET_FILES.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    git(ws, "init", "-q")
    for i in range(3):  # the secrets change together with app.py: co-change would rank them
        (ws / "src" / "app.py").write_text(f"import settings\n\n\ndef main():\n    return {i}\n")
        (ws / ".env").write_text(f"API_TOKEN={MARK}env{i}\n")
        git(ws, "add", "-A")
        git(ws, "commit", "-q", "-m", f"c{i}")
    return ws


async def test_secrets_are_refused_unpredicted_and_never_stored(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    ws = make(tmp_path)
    cache = tmp_path / "cache"
    app = path_to_uri(ws / "src" / "app.py")
    secrets = [path_to_uri(ws / rel) for rel in [*SECRET_FILES, "settings.txt"]]
    options: dict[str, Any] = {"redisUrl": redis_server.url, "shareAnalyses": True}
    async with server(ws, cache, **options) as client:
        await asyncio.sleep(1.0)  # the background index and the co-change history are loaded
        for uri in secrets:
            text = (ws / uri.rsplit("/ws/", 1)[1]).read_text()
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "plaintext", "version": 1, "text": text}},
            )
            client.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text + MARK}]},
            )
            client.notify("smartcache/didFocus", {"uri": uri})
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": app, "languageId": "python", "version": 1, "text": "x = 1\n"}},
            )
            client.notify("textDocument/didClose", {"textDocument": {"uri": app}})
            for method, params in [
                ("smartcache/getFile", {"uri": uri}),
                ("smartcache/getAnalysis", {"uri": uri}),
                ("smartcache/prefetch", {"uris": [uri]}),
                ("smartcache/predict", {"uri": uri, "k": 5}),
            ]:
                reply = await answer(client, method, params)
                assert isinstance(reply, RpcError), (method, uri, reply)
                assert reply.code == -32803 and reply.data == {"reason": "secret"}, (method, uri)
                assert "secret" in reply.message
        ranked = await answer(client, "smartcache/predict", {"uri": app, "k": 20})
        # Predictions go by name: the innocently named link may be ranked (it is refused when asked
        # for, above, and so never prefetched); no file named as a secret is.
        assert ranked and not [p for p in ranked if p["uri"] in secrets[:-1]], ranked
        # The ordinary files are served and cached (the stores are in use), then flushed at shutdown.
        for rel in ("src/app.py", "src/settings.py"):
            uri = path_to_uri(ws / rel)
            assert (await answer(client, "smartcache/getAnalysis", {"uri": uri}))["language"] == "python"
        for _ in range(200):  # prefetch yields to requests: let what is queued run, then look
            stats = await answer(client, "smartcache/stats", {})
            if stats["prefetch"]["queued"] == 0:
                break
            await asyncio.sleep(0.05)
        assert stats["prefetch"]["queued"] == 0
    stored = [p for p in cache.iterdir() if p.is_file()]
    assert stored and not [p.name for p in stored if MARK.encode() in p.read_bytes()]
    redis = raw(redis_server)
    keys = list(redis.scan_iter("*"))
    assert keys, "nothing reached Redis"
    for key in keys:
        assert MARK.encode() not in key
        kind = redis.type(key)
        values = {
            b"string": lambda k: [redis.get(k)],
            b"hash": lambda k: [*redis.hgetall(k).values()],
        }[kind](key)
        assert not [v for v in values if v and MARK.encode() in v], key
