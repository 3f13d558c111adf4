"""smartcache/related and smartcache/findSymbol through a real server process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from smartcache_ls.paths import path_to_uri

from ..index.test_graph import JAVA, write
from .test_lsp import request, start, stop


async def test_related_and_find_symbol(tmp_path: Path) -> None:
    root = write(tmp_path / "ws", JAVA)
    client = await start(root, tmp_path / "cache")
    try:
        for _ in range(200):
            stats = await request(client, "smartcache/stats", {})
            if stats["graph"]["files"] == len(JAVA) and stats["graph"]["queued"] == 0:
                break
            await asyncio.sleep(0.05)
        found = await request(client, "smartcache/related", {"uri": path_to_uri(root / "src/app/Task.java")})
        assert found["uri"] == path_to_uri(root / "src/app/Task.java") and found["uses"] == []
        assert [u["uri"] for u in found["usedBy"]] == [path_to_uri(root / "src/app/TaskList.java")]
        assert found["usedBy"][0]["names"] == ["Task"] and found["usedBy"][0]["weight"] == 3.0
        symbols = await request(client, "smartcache/findSymbol", {"name": "HistoryView", "k": 1})
        assert symbols == [
            {
                "name": "HistoryView",
                "kind": "class",
                "uri": path_to_uri(root / "src/app/view/HistoryView.java"),
                "range": {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 1}},
            }
        ]
        with pytest.raises(JsonRpcException) as bad:
            await request(client, "smartcache/findSymbol", {"name": ""})
        assert bad.value.code == -32602
        with pytest.raises(JsonRpcException) as outside:
            await request(client, "smartcache/related", {"uri": path_to_uri(tmp_path / "elsewhere.java")})
        assert outside.value.code == -32803
    finally:
        await stop(client)
