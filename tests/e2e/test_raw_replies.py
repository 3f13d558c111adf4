"""A memory hit reaches the client as the cached bytes: no decode, no cattrs, no json.dumps.

Raw pipes to a real server: the second getAnalysis of a file is a memory hit, and the bytes of
its result on the wire must be ``{"uri":…,"source":"memory",`` followed by the body of the
record the cache holds (read back from the SQLite file after shutdown), byte for byte. pygls'
own encoding would differ (``", "`` separators, ``\\u`` escapes of non-ASCII names).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from smartcache_ls.cache.record import Record
from smartcache_ls.engine import DB_NAME
from smartcache_ls.paths import path_to_uri
from smartcache_ls.workspace import namespace_of


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def raw_results(data: bytes) -> dict[object, bytes]:
    """id -> the raw bytes of each response's result (from the framed stream)."""
    out: dict[object, bytes] = {}
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length")
        )
        body, data = rest[:length], rest[length:]
        message = json.loads(body)
        if "result" in message:
            marker = b'"result":'
            start = body.index(marker) + len(marker)
            # the result is the rest of the object but its final '}' (the server writes it last)
            raw = body[start:-1].strip() if body.rstrip().endswith(b"}") else b""
            if json.loads(raw) == message["result"]:
                out[message["id"]] = raw
    return out


def test_memory_hit_result_is_the_cached_body_byte_for_byte(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "größe.py").write_text("class Größe:\n    def maß(self):\n        return 'ü'\n", encoding="utf-8")
    cache = tmp_path / "cache"
    uri = path_to_uri(ws / "größe.py")
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "processId": None,
                "capabilities": {},
                "rootUri": path_to_uri(ws),
                "initializationOptions": {"cacheDir": str(cache), "prefetch": {"enabled": False}},
            },
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "smartcache/getAnalysis", "params": {"uri": uri}},
        {"jsonrpc": "2.0", "id": 3, "method": "smartcache/getAnalysis", "params": {"uri": uri}},
        {"jsonrpc": "2.0", "id": 4, "method": "smartcache/getFile", "params": {"uri": uri}},
        {"jsonrpc": "2.0", "id": 5, "method": "smartcache/getFile", "params": {"uri": uri}},
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartcache_ls", "--no-watch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read1(65536), b"")))  # type: ignore[union-attr]
    reader.start()
    try:
        for message in messages:  # one at a time: the second of each pair must be a memory hit
            proc.stdin.write(frame(message))
            proc.stdin.flush()
            if "id" in message:
                deadline = time.monotonic() + 30
                while message["id"] not in raw_results(b"".join(chunks)) and time.monotonic() < deadline:
                    time.sleep(0.02)
        for message in (
            {"jsonrpc": "2.0", "id": 9, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        ):
            proc.stdin.write(frame(message))
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
    results = raw_results(b"".join(chunks))
    assert json.loads(results[2])["source"] == "computed"
    assert json.loads(results[4])["source"] == "memory"  # the analysis read the file into the cache

    namespace = namespace_of(ws.resolve())
    with sqlite3.connect(cache / DB_NAME) as conn:
        rows = dict(conn.execute("SELECT key, value FROM entries").fetchall())
    for result_id, key in ((3, f"{namespace}:a:größe.py"), (4, f"{namespace}:f:größe.py")):
        record = Record(bytes(rows[key]))
        head = b'{"uri":' + json.dumps(uri, ensure_ascii=False).encode() + b',"source":"memory",'
        assert results[result_id] == head + record.data[record.start + 1 : -1]
    assert "Größe".encode() in results[3]  # UTF-8 as cached, not \\u escapes
    assert json.loads(results[3])["symbols"][0]["name"] == "Größe"
