"""Files through a real server process: only regular files inside the workspace, read once from a
checked descriptor, never waited on, whatever the workspace swaps under the server meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from smartcache_ls.engine import DB_NAME
from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import RpcError, StdioRpcClient

SERVER = [sys.executable, "-m", "smartcache_ls"]
BOUND = 5.0  # seconds any one request may take, on 2 shared cores


async def serve(ws: Path, cache: Path, **options: Any) -> StdioRpcClient:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / f"{cache.name}-server.log", "ab") as log:  # never a pipe left unread
        proc = await asyncio.create_subprocess_exec(
            *SERVER, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log
        )
    client = StdioRpcClient(proc)
    await asyncio.wait_for(
        client.request(
            "initialize",
            {
                "processId": None,
                "capabilities": {},
                "workspaceFolders": [{"uri": path_to_uri(ws), "name": "ws"}],
                "initializationOptions": {"cacheDir": str(cache), **options},
            },
        ),
        BOUND * 2,
    )
    client.notify("initialized", {})
    return client


@contextlib.asynccontextmanager
async def server(ws: Path, cache: Path, **options: Any) -> AsyncIterator[StdioRpcClient]:
    client = await serve(ws, cache, **options)
    try:
        yield client
    finally:
        await client.close()  # shutdown; killed after 10 s if it hangs


async def answer(client: StdioRpcClient, method: str, params: Any) -> Any:
    """The result, or the RpcError; a reply slower than BOUND fails the test."""
    try:
        return await asyncio.wait_for(client.request(method, params), BOUND)
    except RpcError as exc:
        return exc
    except TimeoutError:
        pytest.fail(f"{method} {params} got no reply within {BOUND} s")


def reason(error: RpcError) -> str:
    """The refusal's ``data.reason``, or what else came back (an internal error is a failure)."""
    if error.code == -32803 and isinstance(error.data, dict):
        return str(error.data.get("reason"))
    return f"{error.code}: {error.message[:200]}"


_libc = ctypes.CDLL(None, use_errno=True)
_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def exchange(a: Path, b: Path) -> None:
    """Swap two names atomically (renameat2 RENAME_EXCHANGE): at no instant is either missing."""
    if _libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def swapping(pairs: list[tuple[Path, Path]]) -> Iterator[list[int]]:
    """A thread exchanging each pair over and over until the block ends; yields [swaps done]."""
    stop = threading.Event()
    done = [0]

    def run() -> None:
        while not stop.is_set():  # each state held about as long as the other
            for a, b in pairs:
                exchange(a, b)
            time.sleep(0.0002)
            for a, b in pairs:
                exchange(a, b)
            done[0] += 2
            time.sleep(0.0002)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(5)


def _renameat2_works(tmp: Path) -> bool:
    a, b = tmp / "probe-a", tmp / "probe-b"
    a.mkdir()
    b.symlink_to(a)
    try:
        exchange(a, b)
    except (OSError, AttributeError):
        return False
    return b.is_dir() and a.is_symlink()


@pytest.fixture
def swap_ok(tmp_path: Path) -> None:
    if not _renameat2_works(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")


async def test_directory_swapped_for_a_symlink_out_serves_nothing_outside(
    tmp_path: Path, swap_ok: None
) -> None:
    ws, out = tmp_path / "ws", tmp_path / "outside"
    (ws / "sub").mkdir(parents=True)
    out.mkdir()
    names = [f"f{i:02}.py" for i in range(20)]
    for i, name in enumerate(names):
        (ws / "sub" / name).write_text(f"INSIDE = {i}\n")
        (out / name).write_text(f"OUTSIDE = {i}\n")
    (ws / "sub.swap").symlink_to(out, target_is_directory=True)
    cache = tmp_path / "cache"
    uris = [path_to_uri(ws / "sub" / name) for name in names]
    replies: list[Any] = []
    async with server(ws, cache) as client:
        with swapping([(ws / "sub", ws / "sub.swap")]) as swaps:
            for _ in range(8):
                for uri in uris:
                    replies.append(await answer(client, "smartcache/getFile", {"uri": uri}))
                await answer(client, "smartcache/clear", {"scope": "all"})
        texts = [r["text"] for r in replies if isinstance(r, dict)]
        refused = [reason(r) for r in replies if isinstance(r, RpcError)]
        assert swaps[0] > 100, "the swapper hardly ran"
        outside = [t for t in texts if "OUTSIDE" in t]
        assert not outside, f"{len(outside)} of {len(texts)} files served held outside content"
        assert len(texts) + len(refused) == len(replies) == 160
        assert texts and refused, (len(texts), set(refused))  # the race was really run
        assert set(refused) <= {"outsideWorkspace", "symlinkRace", "notFound"}, set(refused)
    for db in cache.glob(DB_NAME + "*"):
        assert b"OUTSIDE" not in db.read_bytes()


async def test_file_swapped_for_a_fifo_is_refused_not_waited_on(tmp_path: Path, swap_ok: None) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    pairs = []
    for i in range(10):
        (ws / f"g{i}.py").write_text(f"G = {i}\n")
        os.mkfifo(ws / f"g{i}.fifo")
        pairs.append((ws / f"g{i}.py", ws / f"g{i}.fifo"))
    async with server(ws, tmp_path / "cache") as client:
        replies: list[Any] = []
        with swapping(pairs):
            for _ in range(20):
                for i in range(10):
                    uri = path_to_uri(ws / f"g{i}.py")
                    replies.append(await answer(client, "smartcache/getFile", {"uri": uri}))
                await answer(client, "smartcache/clear", {"scope": "all"})
        texts = [r["text"] for r in replies if isinstance(r, dict)]
        refused = {reason(r) for r in replies if isinstance(r, RpcError)}
        assert texts and all(t.startswith("G = ") for t in texts)
        assert refused <= {"notRegularFile"}, refused
        # Still serving after the storm, and quickly.
        assert (await answer(client, "smartcache/getFile", {"uri": path_to_uri(ws / "g0.py")}))["text"]


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
async def test_hostile_go_mod_is_not_read(tmp_path: Path, kind: str) -> None:
    ws = tmp_path / "ws"
    (ws / "util").mkdir(parents=True)
    (ws / "util" / "util.go").write_text("package util\n\nfunc Help() int { return 1 }\n")
    (ws / "main.go").write_text(
        'package main\n\nimport "example.com/app/util"\n\nfunc main() { util.Help() }\n'
    )
    if kind == "dev-zero":
        (ws / "go.mod").symlink_to("/dev/zero")
    else:
        os.mkfifo(ws / "go.mod")
    async with server(ws, tmp_path / "cache") as client:
        await asyncio.sleep(1.0)  # the background index has listed go.mod among the workspace's files
        started = time.monotonic()
        analysis = await answer(client, "smartcache/getAnalysis", {"uri": path_to_uri(ws / "main.go")})
        assert isinstance(analysis, dict), analysis
        assert analysis["imports"] == ["example.com/app/util"]
        assert time.monotonic() - started < BOUND
        assert (await answer(client, "smartcache/stats", {}))["version"]


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
async def test_hostile_gitignore_does_not_stall_initialize(tmp_path: Path, kind: str) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").write_text("A = 1\n")
    if kind == "dev-zero":
        (ws / ".gitignore").symlink_to("/dev/zero")
    else:
        os.mkfifo(ws / ".gitignore")
    started = time.monotonic()
    async with server(ws, tmp_path / "cache") as client:
        reply = await answer(client, "smartcache/getFile", {"uri": path_to_uri(ws / "a.py")})
        assert reply["text"] == "A = 1\n"
        assert time.monotonic() - started < 2 * BOUND


async def test_a_symlinked_alias_of_the_root_is_served(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "mod.py").write_text("M = 1\n")
    (tmp_path / "outside.py").write_text("OUTSIDE = 1\n")
    (ws / "pkg" / "out.py").symlink_to(tmp_path / "outside.py")
    alias = tmp_path / "alias"
    alias.symlink_to(ws, target_is_directory=True)
    async with server(ws, tmp_path / "cache") as client:
        direct = await answer(client, "smartcache/getFile", {"uri": path_to_uri(ws / "pkg" / "mod.py")})
        aliased = await answer(client, "smartcache/getFile", {"uri": path_to_uri(alias / "pkg" / "mod.py")})
        assert isinstance(aliased, dict), aliased
        assert aliased["text"] == "M = 1\n" and aliased["source"] == "memory"  # the same cache entry
        assert direct["hash"] == aliased["hash"]
        for uri in (path_to_uri(alias / "pkg" / "out.py"), path_to_uri(alias / ".." / "outside.py")):
            refused = await answer(client, "smartcache/getFile", {"uri": uri})
            assert isinstance(refused, RpcError) and refused.code == -32803
            assert reason(refused) == "outsideWorkspace"
