"""MCP tool-call latency and start-up: smartcache-ls's tools against a no-op tool of the same SDK.

    python bench/mcp_latency.py [--calls 300] [--round 5] [--starts 5]

Both servers are real processes over stdio, driven by the SDK's own client
(``ClientSession``), in the same run: ``bench/floor_mcp.py`` answers ``noop``;
``smartcache-ls mcp`` answers ``outline`` (of ``smartcache_ls/engine.py``, warm)
and ``working_set`` (k=5), once standalone and once live with an editor's
smartcache-ls (a real LSP server on the same workspace and cache dir, with files
opened and switched between). Each server is first left to settle (its start-up
indexing and prefetching done: under 5% of a core for half a second). The three
tools take turns in rounds of ``--round`` calls, the order rotated each round, so
that load on the machine hits them alike.
Target: p50 and p99 within 1.5x the no-op's.

Beside the wall-clock latency, the CPU time per call of the processes that answer
(the floor; the MCP server, plus the editor's server when live), summed over all
their threads from the scheduler's own per-thread counters: steadier than wall time
on a loaded machine, though it leaves out the client's share and the waits.

Start-up: from spawning the process to the first answer (``initialize``, then
the first ``outline``), against the floor's spawn to its first ``noop``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from harness import ROOT, children, ours, percentile, start, table
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from smartcache_ls.paths import path_to_uri

_HERE = Path(__file__).resolve().parent
FLOOR_MCP = [sys.executable, str(_HERE / "floor_mcp.py")]
TARGET = "smartcache_ls/engine.py"
SWITCHES = ["smartcache_ls/engine.py", "smartcache_ls/server.py", "smartcache_ls/workspace.py"]


def text_of(result: CallToolResult) -> str:
    """The text of a tool's first content item (every tool here answers text)."""
    item = result.content[0]
    if not isinstance(item, TextContent):
        raise SystemExit(f"expected text content, got {type(item).__name__}")
    return item.text


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
        raise SystemExit(f"{tool} failed: {text_of(result) if result.content else result}")
    return elapsed


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes' live threads have had, in seconds (``schedstat``: nanoseconds on CPU)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError):
                    total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
    return total / 1e9


async def settled(pids: list[int], *, quiet: float = 0.05, window: float = 0.5, limit: float = 60.0) -> None:
    """Return once the processes used under ``quiet`` of a core over ``window`` seconds (their
    start-up indexing and prefetching done), or after ``limit`` seconds: the calls are then timed
    against the server's steady state, not its warm-up."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        c0 = cpu_seconds(pids)
        await asyncio.sleep(window)
        if cpu_seconds(pids) - c0 < quiet * window:
            return


@asynccontextmanager
async def spawned(command: list[str]) -> AsyncIterator[tuple[ClientSession, int]]:
    """:func:`session`, with the server's pid."""
    before = children(os.getpid())
    async with session(command) as s:
        (pid,) = children(os.getpid()) - before
        yield s, pid


Plan = dict[str, tuple[ClientSession, str, dict[str, Any], list[int]]]


async def latencies(
    plan: Plan, calls: int, round_calls: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Each tool's call latencies, taking turns ``round_calls`` at a time; and its answering
    processes' CPU seconds per call."""
    for s, tool, args, _ in plan.values():  # warm up: imports, caches, analyses
        for _ in range(20):
            await call(s, tool, args)
    out: dict[str, list[float]] = {name: [] for name in plan}
    cpu = dict.fromkeys(plan, 0.0)
    names = list(plan)
    for r in range(-(-calls // round_calls)):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            s, tool, args, pids = plan[name]
            c0 = cpu_seconds(pids)
            for _ in range(min(round_calls, calls - len(out[name]))):
                out[name].append(await call(s, tool, args))
            cpu[name] += cpu_seconds(pids) - c0
    return out, {name: cpu[name] / max(1, len(out[name])) for name in plan}


async def expect_session(s: ClientSession, expected: str) -> None:
    """The server answers as ``expected`` (editor, standalone), with files in its working set."""
    answer = json.loads(text_of(await s.call_tool("working_set", {})))
    if answer.get("session") != expected or not answer.get("files"):
        raise SystemExit(f"expected a {expected} working set with files, got {answer}")


#: the tools measured against the floor's noop, with their arguments
TOOL_ARGS: dict[str, dict[str, Any]] = {"outline": {"path": TARGET}, "working_set": {"k": 5}}


def scenario_workspace(tmp: Path) -> Path:
    """The bench's workspace under ``tmp``: a copy of this package's source."""
    ws = tmp / "ws"
    shutil.copytree(
        ROOT / "smartcache_ls", ws / "smartcache_ls", ignore=shutil.ignore_patterns("*.so", "__pycache__")
    )
    return ws


async def open_switches(editor: Any, ws: Path) -> None:
    """The editor's session: SWITCHES opened three times over, then a request so all are applied."""
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


def plan_for(floor: tuple[ClientSession, int], ours_s: ClientSession, ours_pids: list[int]) -> Plan:
    plan: Plan = {"noop": (floor[0], "noop", {}, [floor[1]])}
    for name, tool_args in TOOL_ARGS.items():
        plan[name] = (ours_s, name, tool_args, ours_pids)
    return plan


async def start_to_first_answer(command: list[str], tool: str, args: dict[str, Any]) -> tuple[float, float]:
    t0 = time.perf_counter()
    params = StdioServerParameters(command=command[0], args=command[1:], cwd=str(ROOT))
    async with stdio_client(params) as streams, ClientSession(*streams) as s:
        await s.initialize()
        t_init = time.perf_counter() - t0
        await call(s, tool, args)
        t_first = time.perf_counter() - t0
    return t_init, t_first


def rows_for(mode: str, measured: tuple[dict[str, list[float]], dict[str, float]]) -> list[list[Any]]:
    lat, cpu = measured
    base50, base99, base_cpu = percentile(lat["noop"], 50), percentile(lat["noop"], 99), cpu["noop"]
    rows = []
    for name, values in lat.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        rows.append(
            [
                f"{mode}: {name}",
                len(values),
                p50 * 1e3,
                p99 * 1e3,
                p50 / base50,
                p99 / base99,
                cpu[name] * 1e3,
                cpu[name] / base_cpu if base_cpu else 0.0,
            ]
        )
    return rows


async def main_async(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="smartcache-mcp-bench-"))
    try:
        ws = scenario_workspace(tmp)
        cache = tmp / "cache"
        measured: dict[str, list[list[Any]]] = {}
        async with spawned(FLOOR_MCP) as floor:
            editor = await start(ours(cache), ws)
            try:
                await open_switches(editor, ws)
                async with spawned(ours_mcp(ws, cache)) as (live, live_pid):
                    await expect_session(live, "editor")
                    await settled([editor.proc.pid, live_pid])
                    plan = plan_for(floor, live, [live_pid, editor.proc.pid])
                    measured["live"] = rows_for("live", await latencies(plan, args.calls, args.round))
            finally:
                await editor.close()  # saves the model it learnt: the standalone server predicts from it
            async with spawned(ours_mcp(ws, cache)) as (alone, alone_pid):
                await expect_session(alone, "standalone")
                await settled([alone_pid])
                plan = plan_for(floor, alone, [alone_pid])
                measured["standalone"] = rows_for("standalone", await latencies(plan, args.calls, args.round))
        rows = measured["standalone"] + measured["live"]
        print(
            f"MCP tool-call latency, {args.calls} calls each in turns of {args.round} (ms; x = ours / the "
            "same SDK's no-op, this run; CPU: the answering processes', editor's included when live)"
        )
        print(table(["tool", "calls", "p50 ms", "p99 ms", "p50 x", "p99 x", "CPU ms/call", "CPU x"], rows))

        starts: dict[str, list[float]] = {"floor (noop)": [], "smartcache-ls mcp (outline)": []}
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
    parser.add_argument(
        "--round", type=int, default=5, help="calls of one tool before the next takes its turn"
    )
    parser.add_argument("--starts", type=int, default=5)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
