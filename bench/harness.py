"""Shared pieces of the benchmarks: servers over real pipes, timing, tables.

Every benchmark runs smartcache-ls and its baseline (usually ``floor_server.py``,
a minimal pygls server of the same Python) in the same run and prints ratios.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smartcache_ls.paths import path_to_uri  # noqa: E402
from smartcache_ls.rpc_client import StdioRpcClient  # noqa: E402

FLOOR = [sys.executable, str(Path(__file__).resolve().parent / "floor_server.py")]


def ours(cache_dir: Path, *extra: str) -> list[str]:
    """The command line of a smartcache-ls server on ``cache_dir``."""
    return [sys.executable, "-m", "smartcache_ls", "--cache-dir", str(cache_dir), *extra]


async def start(
    command: Sequence[str], workspace: Path | None, options: dict[str, Any] | None = None
) -> StdioRpcClient:
    """Spawn ``command`` and initialize it on ``workspace`` (initializationOptions ``options``)."""
    client = await StdioRpcClient.start(*command)
    params: dict[str, Any] = {"processId": os.getpid(), "capabilities": {}}
    if workspace is not None:
        uri = path_to_uri(workspace)
        params |= {"rootUri": uri, "workspaceFolders": [{"uri": uri, "name": workspace.name}]}
    if options is not None:
        params["initializationOptions"] = options
    await client.request("initialize", params)
    client.notify("initialized", {})
    return client


async def wait_index(client: StdioRpcClient, timeout: float = 120.0, poll: float = 0.1) -> float:
    """Seconds until the server's background index is built (files in it, none queued), or
    ``timeout``; polled every ``poll`` s (a stats request is not free: see bench/cold_analysis.py)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        index = (await client.request("smartcache/stats", {}))["graph"]
        if index["files"] and not index["queued"]:
            break
        await asyncio.sleep(poll)
    return time.perf_counter() - t0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (a server's analysis workers; the stdio client
    gives no handle on them), from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def cpu_mark(pid: int) -> dict[int, float]:
    """The CPU seconds so far of process ``pid`` and of each of its children, for
    :func:`cpu_since`."""
    return {p: cpu_seconds(p) for p in {pid, *children(pid)}}


def cpu_since(pid: int, mark: dict[int, float]) -> tuple[float, float]:
    """(``pid``'s, its children's) CPU seconds since ``mark``; a child started since counts
    whole (its boot included)."""
    return cpu_seconds(pid) - mark[pid], sum(cpu_seconds(c) - mark.get(c, 0.0) for c in children(pid))


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    """Seconds one awaited call took, on the client's clock."""
    t0 = time.perf_counter()
    await call()
    return time.perf_counter() - t0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: numbers right-aligned, floats to 2 decimals."""

    def cell(v: Any) -> str:
        return f"{v:,.2f}" if isinstance(v, float) else str(v)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = [
        "  ".join(
            h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("-" * len(lines[0]))
    for row in cells:
        lines.append(
            "  ".join(
                v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)
