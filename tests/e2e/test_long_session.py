"""A long editor session has flat memory: 10,000 open/close pairs through a real server process.

pygls kept the finished future of every didOpen/didClose in its request table
(about 2.2 KB per event, 44 MB for these 20,000 events). RSS is read from
/proc/PID/status after a warm-up, so that caches filling up once do not count.
"""

from __future__ import annotations

import json
from pathlib import Path

from smartcache_ls.paths import path_to_uri

from .raw_server import RawServer, frame

PAIRS = 10_000
BATCH = 250
LIMIT_KB = 15 * 1024


def _pairs(uris: list[str], start: int, count: int) -> bytes:
    out = []
    for n in range(start, start + count):
        uri = uris[n % len(uris)]
        doc = {"uri": uri, "languageId": "python", "version": n, "text": f"x = {n}\n"}
        out.append(
            frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": doc}})
        )
        out.append(
            frame(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didClose",
                    "params": {"textDocument": {"uri": uri}},
                }
            )
        )
    return b"".join(out)


def _run(srv: RawServer, uris: list[str], start: int, count: int) -> None:
    for offset in range(0, count, BATCH):
        srv.send(_pairs(uris, start + offset, min(BATCH, count - offset)))
        srv.request("smartcache/stats", {}, timeout=60)  # every event before it has been handled


def test_ten_thousand_open_close_pairs_keep_memory_flat(workspace: Path, tmp_path: Path) -> None:
    uris = [path_to_uri(workspace / name) for name in ("app.py", "models.py", "util.py", "test_models.py")]
    with RawServer("--no-watch") as srv:
        srv.initialize(workspace, tmp_path / "cache")
        _run(srv, uris, 0, 2_000)  # warm-up: predictor tables, allocator arenas, caches
        before = srv.rss_kb()
        _run(srv, uris, 2_000, PAIRS)
        after = srv.rss_kb()
        stats = srv.request("smartcache/stats", {})["result"]
    growth = after - before
    print(json.dumps({"pairs": PAIRS, "rssBeforeKB": before, "rssAfterKB": after, "growthKB": growth}))
    assert growth < LIMIT_KB, f"RSS grew by {growth} KB over {PAIRS} open/close pairs"
    assert stats["predictor"]["files"] >= len(uris)  # the events did reach the engine
