"""The replay's JSON-RPC client reads the server's stderr for as long as the server runs: a server
that logs more than a pipe holds (64 KiB on Linux) keeps answering instead of blocking on the pipe."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import RpcError, StdioRpcClient

from ..conftest import make_workspace

PIPE_BYTES = 64 * 1024


async def test_a_server_that_logs_past_a_full_pipe_keeps_answering(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    client = await StdioRpcClient.start(
        sys.executable, "-m", "smartcache_ls", "--cache-dir", str(tmp_path / "cache"), "--log-level", "DEBUG"
    )
    try:
        uri = path_to_uri(root)
        params = {"processId": os.getpid(), "capabilities": {}, "rootUri": uri,
                  "workspaceFolders": [{"uri": uri, "name": "ws"}]}  # fmt: skip
        await asyncio.wait_for(client.request("initialize", params), 30)
        client.notify("initialized", {})
        # Each refused uri is one line on the server's stderr; a long path makes each line long.
        bad = uri + "/" + "x" * 2000 + "%00.py"
        refused = 0
        for _ in range(80):
            try:
                await asyncio.wait_for(client.request("smartcache/getAnalysis", {"uri": bad}), 10)
            except RpcError as exc:
                refused += exc.code == -32803
        logged = sum(len(line) for line in client.stderr_tail)
        assert refused == 80
        stats = await asyncio.wait_for(client.request("smartcache/stats", {}), 10)
        assert "tiers" in stats
        # More than a pipe's worth went through stderr, and the client kept its tail.
        assert logged > PIPE_BYTES, logged
        assert any("%00" in line or "badUri" in line for line in client.stderr_tail)
    finally:
        await client.close()
