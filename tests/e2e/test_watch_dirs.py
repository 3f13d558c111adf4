"""Through a real server: inotify watches only on directories that are not ignored."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import StdioRpcClient

from ..inotify import inotify_inodes, watched_dirs

TREE = (
    "src/a/one.py",
    "src/b/two.py",
    "docs/index.md",
    "node_modules/pkg/lib/index.js",
    "node_modules/pkg/node_modules/dep/x.js",
    ".git/objects/ab/cdef",
    "build/out/x.o",
    ".venv/lib/site.py",
    "gen/deep/made.py",
    "top.py",
)


async def test_the_server_watches_no_ignored_directory(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for rel in TREE:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    (root / ".gitignore").write_text("gen/\n")
    client = await StdioRpcClient.start(
        sys.executable, "-m", "smartcache_ls", "--cache-dir", str(tmp_path / "cache")
    )
    try:
        uri = path_to_uri(root)
        await client.request(
            "initialize",
            {"processId": os.getpid(), "capabilities": {}, "rootUri": uri,
             "workspaceFolders": [{"uri": uri, "name": "ws"}]},
        )
        client.notify("initialized", {})
        deadline = time.monotonic() + 20
        index: dict[str, object] = {}
        while time.monotonic() < deadline:
            index = (await client.request("smartcache/stats", {}))["workspaces"][0]["index"]
            if index["state"] == "ready":
                break
            await asyncio.sleep(0.05)
        assert index["state"] == "ready" and index["watchedDirs"] == 5
        pid = client.proc.pid
        assert watched_dirs(root, inotify_inodes(pid)) == ["", "docs", "src", "src/a", "src/b"]

        (root / "src" / "c").mkdir()
        (root / "build" / "more").mkdir()
        expected = ["", "docs", "src", "src/a", "src/b", "src/c"]
        while watched_dirs(root, inotify_inodes(pid)) != expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert watched_dirs(root, inotify_inodes(pid)) == expected
    finally:
        await client.close()
