"""The command line: --version, --tcp, and the offline stats subcommand."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smartcache_ls import __version__
from smartcache_ls.paths import path_to_uri
from smartcache_ls.protocol import plain


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``python -m smartcache_ls ARGS...`` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "smartcache_ls", *args], capture_output=True, text=True, timeout=timeout
    )


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"smartcache-ls {__version__}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_tcp_server_answers(workspace: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartcache_ls", "--tcp", f"127.0.0.1:{port}"],
        stderr=subprocess.DEVNULL,
    )
    try:
        # pygls serves one TCP connection and stops when it closes: no probing, just retry connecting.
        client = LanguageClient("tcp-test", "1")
        deadline = time.monotonic() + 20
        while True:
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                assert time.monotonic() < deadline, "server never listened"
                await asyncio.sleep(0.1)
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=path_to_uri(workspace),
                initialization_options={"cacheDir": str(tmp_path / "cache")},
            )
        )
        uri = path_to_uri(workspace / "util.py")
        result = plain(await client.protocol.send_request_async("smartcache/getFile", {"uri": uri}))
        assert result["text"] == (workspace / "util.py").read_text()
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_stats_subcommand_reads_a_cache_dir(workspace: Path, tmp_path: Path) -> None:
    from smartcache_ls.engine import Engine
    from smartcache_ls.settings import Settings

    engine = Engine(Settings(), tmp_path / "cache", watch=False)
    engine.add_folder(path_to_uri(workspace))
    engine.get_file(path_to_uri(workspace / "util.py"))
    engine.did_focus(path_to_uri(workspace / "app.py"))
    engine.did_focus(path_to_uri(workspace / "util.py"))
    engine.close()
    out = run_cli("stats", "--cache-dir", str(tmp_path / "cache"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["sqlite"]["entries"] >= 1
    assert len(data["models"]) == 1
    assert data["lastSession"]["requests"]["getFile"]["count"] == 1
    assert data["lastSession"]["tiers"]["memory"]["misses"] >= 1
    assert data["lastSession"]["prefetch"]["firstVisits"] == 1  # util.py after app.py
    table = run_cli("stats", "--cache-dir", str(tmp_path / "cache"))
    assert "last server session" in table.stdout and "memory" in table.stdout
    assert "first visits" in table.stdout and "per switch" in table.stdout
    missing = run_cli("stats", "--cache-dir", str(tmp_path / "none"))
    assert missing.returncode == 1 and "no cache" in missing.stderr
