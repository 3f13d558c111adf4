"""What our wire (framing, envelope and params checks, strict encoding) costs against stock pygls.

Runs smartcache-ls and ``floor_server.py`` (stock pygls: its own read loop,
cattrs structuring, ``json.dumps`` output) in the same run, and prints ratios:

- typing: incremental ``didChange`` notifications on an open 2,000-line
  document, then one request: events per second until it is answered (ours also
  runs the engine's didChange; the floor does nothing);
- a large answer: a 1 MB file's text in a result, round trip p50 (ours:
  ``smartcache/getFile`` of the open document, encoded once with orjson on the
  worker thread and spliced in; the floor: ``floor/payload`` of the same value,
  through pygls' cattrs unstructure and ``json.dumps``);
- a small request: round trip p50 of a method neither registers (the same
  MethodNotFound error from both: intake, dispatch and an error reply).

    python bench/protocol.py [--events 2000] [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import FLOOR, ours, percentile, start, table, timed

from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import RpcError


def _change(n: int) -> dict[str, Any]:
    line = n % 2000
    pos = {"line": line, "character": 4}
    return {"range": {"start": pos, "end": pos}, "text": "x"}


async def _round_trip(client: Any, call: tuple[str, dict[str, Any]]) -> float:
    async def once() -> None:
        with contextlib.suppress(RpcError):
            await client.request(*call)

    return await timed(once)


async def run(events: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        doc = ws / "big.py"
        text = "".join(f"value_{i} = {i}  # padding padding padding padding padding\n" for i in range(2000))
        doc.write_text(text)
        big = ws / "large.py"
        large_text = "y = 'caf\u00e9'  # " + "z" * 60 + "\n"
        large_text = large_text * (1_000_000 // len(large_text))
        big.write_text(large_text)
        uri, large_uri = path_to_uri(doc), path_to_uri(big)
        rows = []
        servers = {
            "smartcache-ls": await start(
                ours(Path(tmp) / "cache", "--no-watch"), ws, {"prefetch": {"enabled": False}}
            ),
            "pygls floor": await start(FLOOR, ws),
        }
        try:
            results: dict[str, dict[str, float]] = {}
            for name, client in servers.items():
                for path, body in ((uri, text), (large_uri, large_text)):
                    item = {"uri": path, "languageId": "python", "version": 1, "text": body}
                    client.notify("textDocument/didOpen", {"textDocument": item})
                # the same MethodNotFound reply from both
                small: tuple[str, dict[str, Any]] = ("bench/noSuchMethod", {})
                await _round_trip(client, small)
                t0 = time.perf_counter()
                for n in range(events):
                    change = {"textDocument": {"uri": uri, "version": n + 2}, "contentChanges": [_change(n)]}
                    client.notify("textDocument/didChange", change)
                await _round_trip(client, small)
                typing = time.perf_counter() - t0
                if name == "smartcache-ls":
                    large = ("smartcache/getFile", {"uri": large_uri})
                else:
                    digest = hashlib.blake2b(large_text.encode(), digest_size=16).hexdigest()
                    value = {"uri": large_uri, "text": large_text, "hash": digest, "source": "memory"}
                    await client.request("floor/store", {"name": "large", "value": value})
                    large = ("floor/payload", {"name": "large"})
                answer = await client.request(*large)
                assert answer["text"] == large_text
                large_times = [await _round_trip(client, large) for _ in range(runs)]
                small_times = [await _round_trip(client, small) for _ in range(runs * 3)]
                results[name] = {
                    "typing": events / typing,
                    "large": percentile(large_times, 50) * 1000,
                    "small": percentile(small_times, 50) * 1000,
                }
        finally:
            for client in servers.values():
                await client.close()
        us, floor = results["smartcache-ls"], results["pygls floor"]
        rows.append(
            [
                "typing (didChange/s)",
                f"{us['typing']:.0f}",
                f"{floor['typing']:.0f}",
                f"{us['typing'] / floor['typing']:.2f}x",
            ]
        )
        rows.append(
            [
                "1 MB result p50 (ms)",
                f"{us['large']:.1f}",
                f"{floor['large']:.1f}",
                f"{us['large'] / floor['large']:.2f}x",
            ]
        )
        rows.append(
            [
                "small request p50 (ms)",
                f"{us['small']:.2f}",
                f"{floor['small']:.2f}",
                f"{us['small'] / floor['small']:.2f}x",
            ]
        )
        print(table(["measure", "smartcache-ls", "pygls floor", "ours / floor"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.runs))


if __name__ == "__main__":
    main()
