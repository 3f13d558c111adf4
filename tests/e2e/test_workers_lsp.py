"""The server's analysis workers, seen from outside: a real server over real pipes analyses in
its worker processes, and none of them outlives the server, whether it shuts down or is killed."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import StdioRpcClient

from ..conftest import make_workspace


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (zombies excluded), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.05)
    return False


async def _serve(root: Path, cache: Path) -> StdioRpcClient:
    client = await StdioRpcClient.start(sys.executable, "-m", "smartcache_ls", "--cache-dir", str(cache))
    uri = path_to_uri(root)
    params = {"processId": os.getpid(), "capabilities": {}, "rootUri": uri,
              "workspaceFolders": [{"uri": uri, "name": "ws"}]}  # fmt: skip
    await client.request("initialize", params)
    client.notify("initialized", {})
    return client


async def test_analysis_runs_in_workers_that_stop_with_the_server(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    client = await _serve(root, tmp_path / "cache")
    result = await client.request("smartcache/getAnalysis", {"uri": path_to_uri(root / "models.py")})
    assert [s["name"] for s in result["symbols"]] == ["Beta", "make_beta"]
    # the names a file uses are the reference graph's, kept in the record's meta: never sent
    assert sorted(result) == [
        "bytes",
        "hash",
        "imports",
        "language",
        "lines",
        "metrics",
        "source",
        "symbols",
        "uri",
    ]
    again = await client.request("smartcache/getAnalysis", {"uri": path_to_uri(root / "models.py")})
    assert again["source"] == "memory" and "names" not in again
    stats = await client.request("smartcache/stats", {})
    pool = stats["workers"]
    assert pool["jobs"] >= 1 and pool["alive"] >= 2
    assert pool["alive"] + pool["notStarted"] == pool["workers"]  # (none died)
    workers = _children(client.proc.pid)
    assert len(workers) >= 2
    await client.close()  # shutdown + exit
    assert _gone(workers)


async def test_workers_do_not_outlive_a_killed_server(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    client = await _serve(root, tmp_path / "cache")
    await client.request("smartcache/getAnalysis", {"uri": path_to_uri(root / "util.py")})
    workers = _children(client.proc.pid)
    assert len(workers) >= 2
    os.kill(client.proc.pid, signal.SIGKILL)
    await client.proc.wait()
    assert _gone(workers)  # their stdin closed with the server: they exit on end of input
    client._reader.cancel()
