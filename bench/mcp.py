"""MCP tool-call latency and start-up: smartcache-ls's tools against a no-op tool of the same SDK.

    python bench/mcp.py [--calls 300] [--starts 5]

Both servers are real processes over stdio, driven by the SDK's own client
(``ClientSession``), in the same run: ``bench/floor_mcp.py`` answers ``noop``;
``smartcache-ls mcp`` answers ``outline`` (of ``smartcache_ls/engine.py``, warm)
and ``working_set`` (k=5), once standalone and once live with an editor's
smartcache-ls (a real LSP server on the same workspace and cache dir, with files
opened and switched between). Calls alternate between the servers in rounds so
load on the machine hits both alike. Target: p50 and p99 within 1.5x the no-op's.

Start-up: from spawning the process to the first answer (``initialize``, then
the first ``outline``), against the floor's spawn to its first ``noop``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# This file's name shadows the SDK's package: import the SDK with bench/ off the path, then the harness.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

sys.path.insert(0, str(_HERE))
from harness import ROOT, ours, percentile, start, table  # noqa: E402

from smartcache_ls.paths import path_to_uri  # noqa: E402

FLOOR_MCP = [sys.executable, "-P", str(_HERE / "floor_mcp.py")]  # -P: bench/mcp.py must not shadow mcp
TARGET = "smartcache_ls/engine.py"
SWITCHES = ["smartcache_ls/engine.py", "smartcache_ls/server.py", "smartcache_ls/workspace.py"]


def ours_mcp(ws: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "smartcache_ls", "mcp", "--workspace", str(ws), "--cache-dir", str(cache)]


@asynccontextmanager
async def session(command: list[str]) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=command[0], args=command[1:], cwd=str(ROOT))
    async with stdio_client(params) as streams, ClientSession(*streams) as s:
        await s.initialize()
        yield s


async def call(s: ClientSession, tool: str, args: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    result = await s.call_tool(tool, args)
    elapsed = time.perf_counter() - t0
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text if result.content else result}")
    return elapsed


async def latencies(
    floor: ClientSession, ours_s: ClientSession, calls: int, rounds: int = 6
) -> dict[str, list[float]]:
    plan = {"noop": (floor, "noop", {}), "outline": (ours_s, "outline", {"path": TARGET})}
    plan["working_set"] = (ours_s, "working_set", {"k": 5})
    for s, tool, args in plan.values():  # warm up: imports, caches, analyses
        for _ in range(20):
            await call(s, tool, args)
    out: dict[str, list[float]] = {name: [] for name in plan}
    per_round = max(1, calls // rounds)
    for r in range(rounds):
        order = list(plan.items()) if r % 2 == 0 else list(reversed(plan.items()))
        for name, (s, tool, args) in order:
            for _ in range(per_round):
                out[name].append(await call(s, tool, args))
    return out


async def start_to_first_answer(command: list[str], tool: str, args: dict[str, Any]) -> tuple[float, float]:
    t0 = time.perf_counter()
    params = StdioServerParameters(command=command[0], args=command[1:], cwd=str(ROOT))
    async with stdio_client(params) as streams, ClientSession(*streams) as s:
        await s.initialize()
        t_init = time.perf_counter() - t0
        await call(s, tool, args)
        t_first = time.perf_counter() - t0
    return t_init, t_first


def rows_for(mode: str, lat: dict[str, list[float]]) -> list[list[Any]]:
    base50, base99 = percentile(lat["noop"], 50), percentile(lat["noop"], 99)
    rows = []
    for name, values in lat.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        rows.append([f"{mode}: {name}", len(values), p50 * 1e3, p99 * 1e3, p50 / base50, p99 / base99])
    return rows


async def main_async(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="smartcache-mcp-bench-"))
    try:
        ws = tmp / "ws"
        shutil.copytree(
            ROOT / "smartcache_ls", ws / "smartcache_ls", ignore=shutil.ignore_patterns("*.so", "__pycache__")
        )
        cache = tmp / "cache"
        rows: list[list[Any]] = []
        async with AsyncExitStack() as stack:
            floor = await stack.enter_async_context(session(FLOOR_MCP))
            alone = await stack.enter_async_context(session(ours_mcp(ws, cache)))
            rows += rows_for("standalone", await latencies(floor, alone, args.calls))
            editor = await start(ours(cache), ws)
            try:
                for i, rel in enumerate(SWITCHES * 3):
                    editor.notify(
                        "textDocument/didOpen",
                        {
                            "textDocument": {
                                "uri": path_to_uri(ws / rel),
                                "languageId": "python",
                                "version": i,
                                "text": (ws / rel).read_text(),
                            }
                        },
                    )
                await editor.request("smartcache/stats", {})
                live = await stack.enter_async_context(session(ours_mcp(ws, cache)))
                check = await live.call_tool("working_set", {})
                if json.loads(check.content[0].text).get("session") != "editor":
                    raise SystemExit(f"the MCP server is not live with the editor: {check.content}")
                rows += rows_for("live", await latencies(floor, live, args.calls))
            finally:
                await editor.close()
        print(
            f"MCP tool-call latency, {args.calls} calls each (ms; x = ours / the same SDK's no-op, this run)"
        )
        print(table(["tool", "calls", "p50 ms", "p99 ms", "p50 x", "p99 x"], rows))

        starts = {"floor (noop)": [], "smartcache-ls mcp (outline)": []}
        firsts: dict[str, list[float]] = {k: [] for k in starts}
        inits: dict[str, list[float]] = {k: [] for k in starts}
        for _ in range(args.starts):
            i, f = await start_to_first_answer(FLOOR_MCP, "noop", {})
            inits["floor (noop)"].append(i)
            firsts["floor (noop)"].append(f)
            i, f = await start_to_first_answer(ours_mcp(ws, cache), "outline", {"path": TARGET})
            inits["smartcache-ls mcp (outline)"].append(i)
            firsts["smartcache-ls mcp (outline)"].append(f)
        print()
        print(f"MCP server start to first answer, median of {args.starts} (ms)")
        base = statistics.median(firsts["floor (noop)"])
        print(
            table(
                ["server", "initialize ms", "first tool answer ms", "x floor"],
                [
                    [
                        name,
                        statistics.median(inits[name]) * 1e3,
                        statistics.median(firsts[name]) * 1e3,
                        statistics.median(firsts[name]) / base,
                    ]
                    for name in starts
                ],
            )
        )
        print("\n(timings under load: the machine is shared; compare ratios within this run only)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--starts", type=int, default=5)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
