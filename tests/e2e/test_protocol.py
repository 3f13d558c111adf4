"""Hostile and broken JSON-RPC through a real server process, byte by byte over its pipes.

One test per class of the protocol audit (issue 10): framing, invalid messages,
strict JSON out, params validated before structuring, no tracebacks, extreme
settings, a second initialize, didChange of a document that is not open,
RawJSON results spliced in byte-exact, and TCP mode. Every reply is read by
:class:`tests.e2e.raw_server.RawServer`, which fails on any byte of stdout that is
not a frame of strict JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from smartcache_ls.paths import path_to_uri

from .raw_server import SERVER, RawServer, frame

INVALID = (-32700, -32600, -32602, -32803)


@pytest.fixture
def server(workspace: Path, tmp_path: Path) -> Iterator[RawServer]:
    with RawServer() as srv:
        reply = srv.initialize(workspace, tmp_path / "cache")
        assert reply["result"]["serverInfo"]["name"] == "smartcache-ls"
        yield srv
    assert b"Traceback" not in srv.stderr, srv.stderr.decode()[-2000:]
    assert not any("Traceback" in json.dumps(m) for m in srv.messages)


def error_of(reply: dict[str, Any]) -> dict[str, Any]:
    assert "error" in reply and "result" not in reply, reply
    error = reply["error"]
    assert isinstance(error, dict)
    return error


def still_serving(srv: RawServer) -> None:
    stats = srv.request("smartcache/stats", {}, timeout=5)
    assert stats["result"]["version"]


def null_id_errors(srv: RawServer, code: int) -> list[dict[str, Any]]:
    return [m for m in srv.messages if m.get("id") is None and m.get("error", {}).get("code") == code]


# 1. framing ------------------------------------------------------------------------
REQUEST = b'{"jsonrpc":"2.0","id":77,"method":"smartcache/stats","params":{}}'


@pytest.mark.parametrize(
    "header",
    [
        b"Content-Length: 1000000000000\r\n\r\n",  # pygls: MemoryError, the process exits
        b"Content-Length: 100000000000000000000\r\n\r\n",  # pygls: OverflowError
        b"Content-Length: 100000000\r\n\r\n" + b" " * (100_000_000 - len(REQUEST)),  # skipped exactly
        b"Content-Length: -5\r\n\r\n",
        b"Content-Length: twelve\r\n\r\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n",  # no length at all
    ],
    ids=["1e12", "1e20", "100MB", "negative", "non-numeric", "missing"],
)
def test_bad_content_length_is_refused_and_the_stream_resynchronised(
    server: RawServer, header: bytes
) -> None:
    before = len(null_id_errors(server, -32700))
    server.send(header + REQUEST)  # not answered: it is read as the refused frame's body
    still_serving(server)  # the next frame after the bad one is read and answered
    assert len(null_id_errors(server, -32700)) == before + 1
    assert not any(m.get("id") == 77 for m in server.messages)
    assert server.proc.poll() is None


# 2. every invalid message gets the reply it is owed ------------------------------------
@pytest.mark.parametrize(
    ("body", "code", "msg_id"),
    [
        (b'{"jsonrpc":"2.0","id":5,"method":"smartcache/st', -32700, None),  # truncated
        (b'{"jsonrpc":"2.0","id":5,"method":"\xff\xfe"}', -32700, None),  # not UTF-8
        (b"{not json}", -32700, None),
        (b'{"jsonrpc":"2.0","id":5,"method":"smartcache/stats","params":NaN}', -32700, None),
        (b'[{"jsonrpc":"2.0","id":5,"method":"smartcache/stats"}]', -32600, None),  # batch
        (b"[]", -32600, None),
        (b'{"jsonrpc":"1.0","id":5,"method":"smartcache/stats","params":{}}', -32600, 5),
        (b'{"id":5,"method":"smartcache/stats","params":{}}', -32600, 5),
        (b'{"jsonrpc":"2.0","id":5,"method":7,"params":{}}', -32600, 5),
        (b'{"jsonrpc":"2.0","id":{"a":1},"method":"smartcache/stats"}', -32600, None),
        (b'{"jsonrpc":"2.0","id":[1],"method":"smartcache/stats"}', -32600, None),
        (b'{"jsonrpc":"2.0","id":true,"method":"smartcache/stats"}', -32600, None),
        (b'{"jsonrpc":"2.0","id":5}', -32600, 5),
        (b'{"jsonrpc":"2.0","id":5,"method":"textDocument/didClose","params":{}}', -32600, 5),
        (b'{"jsonrpc":"2.0","id":5,"method":"smartcache/stats","params":"text"}', -32602, 5),
    ],
)
def test_invalid_messages_are_answered(server: RawServer, body: bytes, code: int, msg_id: Any) -> None:
    count = len([m for m in server.messages if "error" in m])
    answered = len([m for m in server.messages if "method" not in m])
    server.send(frame(body))
    replies = server.replies(answered + 1, timeout=5)
    errors = [m for m in replies if "error" in m]
    assert len(errors) == count + 1
    assert errors[-1]["id"] == msg_id and errors[-1]["error"]["code"] == code, errors[-1]
    still_serving(server)


def test_a_request_without_params_is_answered(server: RawServer) -> None:
    server.send(frame({"jsonrpc": "2.0", "id": 2, "method": "smartcache/stats"}))
    assert server.reply(2, timeout=5)["result"]["version"]
    server.send(frame({"jsonrpc": "2.0", "id": 3, "method": "smartcache/getFile"}))
    assert error_of(server.reply(3, timeout=5))["code"] == -32602


# 3. strict JSON on stdout whatever comes in ------------------------------------------------
def test_an_id_beyond_a_double_is_refused_not_echoed_as_infinity(server: RawServer) -> None:
    server.send(frame(b'{"jsonrpc":"2.0","id":1e400,"method":"smartcache/stats","params":{}}'))
    server.send(frame(b'{"jsonrpc":"2.0","id":-1e400,"method":"smartcache/stats","params":{}}'))
    server.send(frame(b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"smartcache/stats"}'))
    still_serving(server)
    assert len(null_id_errors(server, -32600)) == 3
    assert all(b"Infinity" not in body and b"NaN" not in body for body in server.bodies)


# 4. params checked cheaply before structuring --------------------------------------------------
def test_a_long_string_where_a_list_belongs_is_refused_at_once(server: RawServer) -> None:
    event = {"added": [], "removed": "x" * 70_000}
    server.notify("workspace/didChangeWorkspaceFolders", {"event": event})  # pygls: 16 s of cattrs
    still_serving(server)
    server.send(
        frame({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {"capabilities": "x" * 70_000}})
    )
    assert error_of(server.reply(9, timeout=5))["code"] in (-32600, -32602)


def test_deep_nesting_is_invalid_params_not_recursion_error(server: RawServer) -> None:
    deep = b"[" * 900 + b"]" * 900
    for msg_id, method in ((11, b"workspace/executeCommand"), (12, b"smartcache/predict")):
        params = b'{"command":"x","arguments":' + deep + b"}" if msg_id == 11 else b'{"uri":' + deep + b"}"
        server.send(frame(b'{"jsonrpc":"2.0","id":%d,"method":"%s","params":%s}' % (msg_id, method, params)))
        assert error_of(server.reply(msg_id, timeout=5))["code"] == -32602
    server.notify("textDocument/didOpen", {"textDocument": json.loads(deep)})  # dropped with one log line
    still_serving(server)


# 5. no traceback to the client, bad uris are refusals ----------------------------------------------
def test_bad_uris_are_refused_without_a_traceback(server: RawServer, workspace: Path) -> None:
    root = path_to_uri(workspace)
    for msg_id, uri in enumerate([root + "/%00.py", root + "/a%00/b.py", "file:///%00"], start=20):
        server.send(
            frame({"jsonrpc": "2.0", "id": msg_id, "method": "smartcache/getFile", "params": {"uri": uri}})
        )
        error = error_of(server.reply(msg_id, timeout=5))
        assert error["code"] in (-32602, -32803), error
        assert "data" not in error or set(error["data"]) == {"reason"}
    body = b'{"jsonrpc":"2.0","id":30,"method":"smartcache/getAnalysis","params":{"uri":"%s/\\ud800.py"}}'
    server.send(frame(body % root.encode()))
    assert error_of(server.reply(30, timeout=5))["code"] == -32602
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": root + "/%00.py", "languageId": "python", "version": 1, "text": ""}},
    )
    still_serving(server)
    refusals = [line for line in server.stderr.splitlines() if b"%00" in line or b"ud800" in line]
    assert refusals and b"Traceback" not in server.stderr


# 6. extreme settings --------------------------------------------------------------------------------
def test_extreme_settings_are_clamped_and_the_server_initializes(workspace: Path, tmp_path: Path) -> None:
    options = (
        b'{"cacheDir":%s,"maxMemoryMB":1e308,"maxDiskMB":1e400,"maxFileKB":1000000000,'
        b'"ttlSeconds":-5,"prefetch":{"topK":100000000000000000000000,"threshold":-1e400}}'
    ) % json.dumps(str(tmp_path / "cache")).encode()
    init = (
        b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"capabilities":{},'
        b'"rootUri":%s,"initializationOptions":%s}}'
    ) % (json.dumps(path_to_uri(workspace)).encode(), options)
    with RawServer() as srv:
        srv.send(frame(init))
        assert srv.reply(1, timeout=30)["result"]["serverInfo"]["name"] == "smartcache-ls"
        srv.notify("initialized", {})
        memory = srv.request("smartcache/stats", {})["result"]["tiers"]["memory"]
        assert 0 < memory["maxBytes"] <= 1024**4
        uri = path_to_uri(workspace / "util.py")
        assert srv.request("smartcache/getFile", {"uri": uri})["result"]["text"].startswith("def helper")
        srv.send(
            frame(
                b'{"jsonrpc":"2.0","method":"workspace/didChangeConfiguration","params":'
                b'{"settings":{"maxFileKB":1e400,"maxMemoryMB":-1e400,"cacheDir":"\\u0000"}}}'
            )
        )
        assert srv.request("smartcache/getFile", {"uri": uri})["result"]["text"].startswith("def helper")
        # (the settings are applied, and their problems logged, on the engine's thread)
        assert srv.wait_for_stderr(b"maxFileKB must be int"), srv.stderr
        assert b"maxMemoryMB is at most" in srv.stderr


def test_an_unusable_cache_dir_still_initializes(workspace: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for cache_dir in (blocker / "cache", "~no-such-user-here/cache"):
        with RawServer() as srv:
            reply = srv.initialize(workspace, cache_dir)
            assert "result" in reply, reply
            stats = srv.request("smartcache/stats", {})["result"]
            assert not stats["cacheDir"].startswith(str(blocker)) and "~" not in stats["cacheDir"]
            uri = path_to_uri(workspace / "util.py")
            assert srv.request("smartcache/getFile", {"uri": uri})["result"]["text"].startswith("def helper")


def test_requests_after_shutdown_are_answered_and_exit_ends_the_process(server: RawServer) -> None:
    reply = server.request("shutdown", timeout=20)
    assert "result" in reply and reply["result"] is None, reply  # was RuntimeError: dict changed size
    assert error_of(server.request("smartcache/stats", {}, timeout=5))["code"] == -32600  # pygls: no reply
    server.notify("exit")
    assert server.proc.wait(20) == 0


# 7. second initialize -------------------------------------------------------------------------------
def test_a_second_initialize_is_refused_and_builds_nothing(server: RawServer, workspace: Path) -> None:
    threads = _settled_threads(server)
    for msg_id in range(40, 45):
        params = {"processId": None, "capabilities": {}, "rootUri": path_to_uri(workspace)}
        server.send(frame({"jsonrpc": "2.0", "id": msg_id, "method": "initialize", "params": params}))
        assert error_of(server.reply(msg_id, timeout=10))["code"] == -32600
    assert _threads(server.proc.pid) <= threads + 2
    still_serving(server)


def _settled_threads(srv: RawServer, quiet: float = 0.5, bound: float = 10.0) -> int:
    """The server's thread count once it stops changing: pygls grows its worker pool per request
    and the engine starts some threads lazily (the analysis pool after indexing), and neither is
    a second engine."""
    still_serving(srv)
    deadline = time.monotonic() + bound
    count, since = _threads(srv.proc.pid), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.05)
        now = _threads(srv.proc.pid)
        if now != count:
            count, since = now, time.monotonic()
    return count


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


# 9. didChange of a document that was never opened --------------------------------------------------
def test_did_change_of_an_unknown_document_never_reads_the_disk(server: RawServer, workspace: Path) -> None:
    fifo = workspace / "pipe.py"
    os.mkfifo(fifo)  # reading it blocks until a writer comes: pygls read it on the event loop
    for uri in (path_to_uri(fifo), "file:///dev/zero"):
        change = {"textDocument": {"uri": uri, "version": 2}, "contentChanges": []}
        server.notify("textDocument/didChange", change)
        still_serving(server)
    assert server.stderr.count(b"the document is not open") >= 2


def test_open_documents_get_incremental_changes_in_memory(server: RawServer, workspace: Path) -> None:
    path = workspace / "util.py"
    uri = path_to_uri(path)
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "abc\ndef\n"}},
    )
    change = {
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 3}},
        "text": "XYZ",
    }
    server.notify(
        "textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]}
    )
    path.unlink()  # the editor's text is the only copy: nothing is read from disk
    assert server.request("smartcache/getFile", {"uri": uri})["result"]["text"] == "abc\nXYZ\n"


# 10. RawJSON -------------------------------------------------------------------------------------------
def test_results_are_encoded_once_and_spliced_in_byte_exact(server: RawServer, workspace: Path) -> None:
    text = 'caf\u00e9 \u2028 \U0001f600 "quoted" \\ \t\x01\n'
    uri = path_to_uri(workspace / "util.py")
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    msg_id = server.next_id()
    server.send(
        frame({"jsonrpc": "2.0", "id": msg_id, "method": "smartcache/getFile", "params": {"uri": uri}})
    )
    reply = server.reply(msg_id)
    body = server.bodies[server.messages.index(reply)]
    digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    result = {"uri": uri, "text": text, "hash": digest, "source": reply["result"]["source"]}
    assert body == b'{"jsonrpc":"2.0","id":%d,"result":%s}' % (msg_id, orjson.dumps(result))


# 11. TCP --------------------------------------------------------------------------------------------------
def test_tcp_serves_one_client_and_refuses_a_second(workspace: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*SERVER, "--tcp", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False
    )
    try:
        port = _listening_port(proc)
        first = socket.create_connection(("127.0.0.1", port), timeout=20)
        replies = _Frames(first)
        init = {
            "processId": None,
            "capabilities": {},
            "rootUri": path_to_uri(workspace),
            "initializationOptions": {"cacheDir": str(tmp_path / "cache")},
        }
        first.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}))
        assert "result" in replies.next()
        second = socket.create_connection(("127.0.0.1", port), timeout=20)
        second.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "smartcache/stats", "params": {}}))
        refusal = _Frames(second).next()
        assert refusal["error"]["code"] == -32600 and refusal["id"] is None
        with contextlib.suppress(ConnectionResetError):  # reset: the server never read its request
            assert second.recv(1) == b""  # closed
        first.sendall(frame({"jsonrpc": "2.0", "id": 2, "method": "smartcache/stats", "params": {}}))
        assert replies.next()["id"] == 2  # the first client keeps its replies
        first.sendall(frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
        assert replies.next()["id"] == 3
        first.sendall(frame({"jsonrpc": "2.0", "method": "exit"}))
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _listening_port(proc: subprocess.Popen[bytes]) -> int:
    """The port from the server's "listening on HOST:PORT" line on stderr (read on a thread)."""
    assert proc.stderr is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, b"")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in list(lines):
            if b"listening on" in line:
                return int(line.rsplit(b":", 1)[1])
        time.sleep(0.05)
    raise AssertionError("the server never said where it listens")


def test_tcp_binds_loopback_unless_told_otherwise() -> None:
    done = subprocess.run([*SERVER, "--tcp", "0.0.0.0:0"], capture_output=True, timeout=60)
    assert done.returncode == 2 and b"--allow-remote" in done.stderr


class _Frames:
    """Frames read from a socket, notifications skipped."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "connection closed"
        self.buf += chunk

    def next(self) -> dict[str, Any]:
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            head, _, rest = self.buf.partition(b"\r\n\r\n")
            length = int(head.split(b":")[1])
            while len(rest) < length:
                self._fill()
                head, _, rest = self.buf.partition(b"\r\n\r\n")
            self.buf = rest[length:]
            message = json.loads(rest[:length])
            assert isinstance(message, dict)
            if "method" not in message:
                return message


def test_responses_nobody_asked_for_are_dropped_and_serving_goes_on(server: RawServer) -> None:
    """A client's result and error responses (the server sends no requests, so they answer
    nothing) are taken as responses, get no reply, and every message after them is served."""
    before = len(server.messages)
    server.send(frame({"jsonrpc": "2.0", "id": "stray-1", "result": {"x": 1}}))
    server.send(frame({"jsonrpc": "2.0", "id": 77, "error": {"code": -32601, "message": "no"}}))
    server.send(frame({"jsonrpc": "2.0", "id": 78, "result": None}))
    still_serving(server)
    assert not [m for m in server.messages[before:] if m.get("id") in ("stray-1", 77, 78)]
