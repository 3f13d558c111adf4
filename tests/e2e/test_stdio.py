"""The server's stdout carries JSON-RPC frames and nothing else, even when other code prints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from smartcache_ls.paths import path_to_uri

NOISY = """
import builtins, os, sys, threading, time

_real_import = builtins.__import__
_said = []


def _noisy_import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    if name == "pygls.lsp.server" and not _said:
        _said.append(name)
        print("a dependency printing at import time")
    return module


builtins.__import__ = _noisy_import


def later():
    time.sleep(0.5)
    print("a dependency printing from a thread")
    sys.stdout.flush()
    os.write(1, b"raw bytes on file descriptor 1\\n")


threading.Thread(target=later, daemon=True).start()
"""


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def parse_frames(data: bytes) -> list[dict[str, object]]:
    messages = []
    while data:
        assert data.startswith(b"Content-Length: "), data[:80]
        head, _, rest = data.partition(b"\r\n\r\n")
        headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        assert set(headers) <= {b"Content-Length", b"Content-Type"}, headers
        length = int(headers[b"Content-Length"])
        messages.append(json.loads(rest[:length]))
        data = rest[length:]
    return messages


def test_stdout_holds_only_framed_messages(workspace: Path, tmp_path: Path) -> None:
    noisy = tmp_path / "noisy"
    noisy.mkdir()
    (noisy / "sitecustomize.py").write_text(NOISY)
    env = {**os.environ, "PYTHONPATH": f"{noisy}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    uri = path_to_uri(workspace / "models.py")
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "processId": None,
                "capabilities": {},
                "rootUri": path_to_uri(workspace),
                "initializationOptions": {"cacheDir": str(tmp_path / "cache")},
            },
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "smartcache/getAnalysis", "params": {"uri": uri}},
        {"jsonrpc": "2.0", "id": 3, "method": "smartcache/getFile", "params": {"uri": "file:///etc/passwd"}},
        {"jsonrpc": "2.0", "id": 4, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartcache_ls"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    chunks: list[bytes] = []
    errs: list[bytes] = []
    readers = [
        threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read1(65536), b""))),  # type: ignore[union-attr]
        threading.Thread(target=lambda: errs.extend(iter(lambda: proc.stderr.read1(65536), b""))),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    for message in messages[:4]:
        proc.stdin.write(frame(message))
    proc.stdin.flush()
    # Wait for the three answers and for the noisy thread, then shut down.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answered = b"".join(chunks)
        if (
            re.search(rb'"id": ?3\b', answered)
            and re.search(rb'"id": ?2\b', answered)
            and b"raw bytes" in b"".join(errs)
        ):
            break
        time.sleep(0.05)
    for message in messages[4:]:
        proc.stdin.write(frame(message))
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    for reader in readers:
        reader.join(10)
    out, err = b"".join(chunks), b"".join(errs)
    parsed = parse_frames(out)
    by_id = {m.get("id"): m for m in parsed if "id" in m}
    assert by_id[1]["result"]["serverInfo"]["name"] == "smartcache-ls"  # type: ignore[index]
    assert by_id[2]["result"]["symbols"][0]["name"] == "Beta"  # type: ignore[index]
    assert by_id[3]["error"]["code"] == -32803  # type: ignore[index]
    assert b"a dependency printing at import time" in err
    assert b"a dependency printing from a thread" in err
    assert b"raw bytes on file descriptor 1" in err
