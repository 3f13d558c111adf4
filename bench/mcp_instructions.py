"""MCP tool calls in instructions: ``bench/mcp_latency.py``'s comparison counted by callgrind, not timed.

    python bench/mcp_instructions.py [--calls 50]

The same servers and scenario as ``bench/mcp_latency.py`` (the floor's ``noop``; ``outline``
and ``working_set`` live with an editor's smartcache-ls, then standalone on the cache
it left), each server process run under ``valgrind --tool=callgrind`` with
instrumentation off until its warm-up is done and its start-up work has settled.
Counted: every instruction of every thread of the processes that answer a call (the
MCP server; the editor's server too when live), over ``--calls`` warm calls. The
client's share is not counted (it is the same SDK's for every tool). Instruction
counts do not depend on the machine's load: use them to confirm a gain the wall-clock
ratios are too noisy to show. Takes a few minutes (valgrind runs Python ~50x slower).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import mcp_latency as bench_mcp
from harness import ours, start, table
from mcp import ClientSession

WARM_CALLS = 15
SETTLE_LIMIT = 120.0  # seconds a server under valgrind may take to settle


class Counted:
    """The callgrind runs of this bench: one output file prefix per process, dumps numbered."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._dumps: dict[int, int] = {}

    def prefix(self, label: str) -> list[str]:
        return [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={self.out}/{label}.%p",
        ]

    def _control(self, *args: str) -> None:
        subprocess.run(["callgrind_control", *args], check=True, capture_output=True)

    def begin(self, pids: list[int]) -> None:
        for pid in pids:
            self._control("-i", "on", str(pid))
            self._control("-z", str(pid))

    def end(self, pids: list[int]) -> int:
        """Instructions the processes ran since :meth:`begin`."""
        total = 0
        for pid in pids:
            self._control("-d", str(pid))
            self._control("-i", "off", str(pid))
            n = self._dumps[pid] = self._dumps.get(pid, 0) + 1
            (dump,) = self.out.glob(f"*.{pid}.{n}")
            for line in dump.read_text().splitlines():
                if line.startswith("totals:"):
                    total += int(line.split()[1])
        return total


async def count(
    counted: Counted, s: ClientSession, tool: str, args: dict[str, Any], pids: list[int], calls: int
) -> float:
    """Instructions per warm call of ``tool``."""
    for _ in range(WARM_CALLS):
        await bench_mcp.call(s, tool, args)
    counted.begin(pids)
    for _ in range(calls):
        await bench_mcp.call(s, tool, args)
    return counted.end(pids) / calls


async def main_async(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="smartcache-mcp-instr-"))
    try:
        ws = bench_mcp.scenario_workspace(tmp)
        cache, out = tmp / "cache", tmp / "callgrind"
        out.mkdir()
        counted = Counted(out)
        per_call: dict[str, float] = {}
        async with bench_mcp.spawned(counted.prefix("floor") + bench_mcp.FLOOR_MCP) as (floor, floor_pid):
            await bench_mcp.settled([floor_pid], limit=SETTLE_LIMIT)
            per_call["noop"] = await count(counted, floor, "noop", {}, [floor_pid], args.calls)
        editor = await start(counted.prefix("editor") + ours(cache), ws)
        try:
            await bench_mcp.open_switches(editor, ws)
            command = counted.prefix("live") + bench_mcp.ours_mcp(ws, cache)
            async with bench_mcp.spawned(command) as (live, live_pid):
                await bench_mcp.expect_session(live, "editor")
                pids = [live_pid, editor.proc.pid]
                await bench_mcp.settled(pids, limit=SETTLE_LIMIT)
                for name, tool_args in bench_mcp.TOOL_ARGS.items():
                    per_call[f"live: {name}"] = await count(counted, live, name, tool_args, pids, args.calls)
        finally:
            await editor.close()
        command = counted.prefix("alone") + bench_mcp.ours_mcp(ws, cache)
        async with bench_mcp.spawned(command) as (alone, alone_pid):
            await bench_mcp.expect_session(alone, "standalone")
            await bench_mcp.settled([alone_pid], limit=SETTLE_LIMIT)
            for name, tool_args in bench_mcp.TOOL_ARGS.items():
                per_call[f"standalone: {name}"] = await count(
                    counted, alone, name, tool_args, [alone_pid], args.calls
                )
        base = per_call["noop"]
        print(
            f"MCP tool calls in instructions, {args.calls} warm calls each"
            " (callgrind: the answering processes)"
        )
        print(
            table(
                ["tool", "M instructions a call", "x noop"],
                [[k, v / 1e6, v / base] for k, v in per_call.items()],
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
