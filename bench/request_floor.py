"""The request floor: a getAnalysis memory hit against pygls doing nothing, in the same run.

Two generated Python files, one with a small outline (about 3.5 KB of reply) and one with a
large one (about 92 KB). smartcache-ls analyses each once; every later getAnalysis is a memory
hit. The same run starts ``floor_server.py`` (a minimal pygls server of the same Python) and
stores there the very reply smartcache-ls gave for the large file, so that:

  small  getAnalysis (memory hit, 3.5 KB)  vs  floor/noop on pygls' worker threads   (target <= 1.2x)
  large  getAnalysis (memory hit, 92 KB)   vs  floor/payload returning that payload   (target <= 1.1x)

and, to show where the small hit's time goes, the small hit against floor/payload returning its
3.5 KB reply (the transfer and the client's decode of the reply are in both).

Requests alternate between the two servers one by one (so both see the same load), one at a
time, timed on the client (``bench/harness.py``'s raw JSON-RPC client). Prints p50/p90/p99 in ms
and the ratios of the p50s and p99s.

    .venv/bin/python bench/request_floor.py [--requests 2000] [--warmup 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import FLOOR, ours, percentile, start, table, timed

from smartcache_ls.paths import path_to_uri

SMALL_FUNCTIONS = 23  # ~3.5 KB of getAnalysis reply
LARGE_CLASSES = 79  # ~92 KB


def small_source(n: int) -> str:
    return "".join(f"def function_{i}(a, b):\n    return a + b * {i}\n\n\n" for i in range(n))


def large_source(n: int) -> str:
    out = ["import os\nimport sys\n\n\n"]
    for i in range(n):
        out.append(f"class Service{i}:\n    '''Service number {i}.'''\n\n")
        for j in range(8):
            out.append(f"    def method_{j}(self, value):\n        return value + {i * j}\n\n")
        out.append("\n")
    return "".join(out)


def workspace(root: Path) -> tuple[Path, Path]:
    root.mkdir(parents=True, exist_ok=True)
    small, large = root / "small.py", root / "large.py"
    small.write_text(small_source(SMALL_FUNCTIONS))
    large.write_text(large_source(LARGE_CLASSES))
    return small, large


async def run(requests: int, warmup: int) -> None:
    with tempfile.TemporaryDirectory(prefix="request-floor-") as tmp:
        base = Path(tmp)
        small, large = workspace(base / "ws")
        options = {"prefetch": {"enabled": False}}
        server = await start(ours(base / "cache"), base / "ws", options)
        floor = await start(FLOOR, base / "ws")
        try:
            small_uri, large_uri = path_to_uri(small), path_to_uri(large)
            sizes = {}
            for name, uri in (("small", small_uri), ("large", large_uri)):
                first = await server.request("smartcache/getAnalysis", {"uri": uri})
                hit = await server.request("smartcache/getAnalysis", {"uri": uri})
                if first["source"] != "computed" or hit["source"] != "memory":
                    raise SystemExit(
                        f"expected computed then memory for {name}: {first['source']}, {hit['source']}"
                    )
                sizes[name] = len(json.dumps(hit, separators=(",", ":")).encode())
                await floor.request("floor/store", {"name": name, "value": hit})

            pairs: dict[str, tuple[Any, Any]] = {
                "small": (
                    lambda: server.request("smartcache/getAnalysis", {"uri": small_uri}),
                    lambda: floor.request("floor/noop", {}),
                ),
                "large": (
                    lambda: server.request("smartcache/getAnalysis", {"uri": large_uri}),
                    lambda: floor.request("floor/payload", {"name": "large"}),
                ),
                # where the small outline's time goes: pygls sending the same 3.5 KB
                "small/payload": (
                    lambda: server.request("smartcache/getAnalysis", {"uri": small_uri}),
                    lambda: floor.request("floor/payload", {"name": "small"}),
                ),
            }
            times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
            for name, (mine, base_call) in pairs.items():
                for i in range(warmup + requests):
                    a = await timed(mine)
                    b = await timed(base_call)
                    if i >= warmup:
                        times[name][0].append(a * 1000)
                        times[name][1].append(b * 1000)
            stats = await server.request("smartcache/stats", {})
            hits = stats["requests"]["getAnalysis"]["hits"]
        finally:
            await server.close()
            await floor.close()

    rows = []
    ratios = []
    labels = {
        "small": ("getAnalysis hit", "floor/noop (thread)"),
        "large": ("getAnalysis hit", "floor/payload (same)"),
        "small/payload": ("getAnalysis hit", "floor/payload (same)"),
    }
    targets = {"small": 1.2, "large": 1.1, "small/payload": 1.1}
    for name, (mine, base_times) in times.items():
        ours_label, floor_label = labels[name]
        for label, values in ((f"{name} {ours_label}", mine), (f"{name} {floor_label}", base_times)):
            rows.append(
                [
                    label,
                    "4 B" if label.endswith("(thread)") else f"{sizes[name.split('/')[0]]:,} B",  # noop: null
                    percentile(values, 50),
                    percentile(values, 90),
                    percentile(values, 99),
                ]
            )
        p50 = percentile(mine, 50) / percentile(base_times, 50)
        p99 = percentile(mine, 99) / percentile(base_times, 99)
        ratios.append([name, p50, p99, targets[name], "yes" if p50 <= targets[name] else "NO"])
    print(f"getAnalysis memory hits vs the pygls floor, {requests} requests each, interleaved")
    print(f"(Python {sys.version.split()[0]}; memory hits counted by the server: {hits})\n")
    print(table(["request", "reply", "p50 ms", "p90 ms", "p99 ms"], rows))
    print()
    print(table(["outline", "p50 ratio", "p99 ratio", "target", "p50 within"], ratios))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.warmup))


if __name__ == "__main__":
    main()
