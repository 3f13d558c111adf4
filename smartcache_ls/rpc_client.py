"""A minimal JSON-RPC client over a subprocess's stdio, for the replay.

Editors parse JSON-RPC natively; pygls' own client turns every JSON object into
a fresh namedtuple class, which costs more than the server's whole answer on
large outlines. The replay times the server, so it speaks the wire format
itself: Content-Length framing, ids, and plain dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
from collections import deque
from typing import Any

STDERR_TAIL_LINES = 200  # what a failing caller can show of the server's log


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class StdioRpcClient:
    """A client of one server process.

    When the server's stderr is a pipe the client reads it for as long as the
    server runs, so a server that logs a lot never blocks on a full pipe; the
    last lines are kept in `stderr_tail`, and echoed when `echo_stderr` is set.
    """

    def __init__(self, proc: asyncio.subprocess.Process, *, echo_stderr: bool = False) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self._stdin = proc.stdin
        self._stdout = proc.stdout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._echo_stderr = echo_stderr
        self._reader = asyncio.create_task(self._read())
        self._stderr_reader = asyncio.create_task(self._read_stderr(proc.stderr))

    @classmethod
    async def start(cls, *command: str, echo_stderr: bool = False) -> StdioRpcClient:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc, echo_stderr=echo_stderr)

    async def _read_stderr(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while line := await stream.readline():
            text = line.decode(errors="replace")
            self.stderr_tail.append(text)
            if self._echo_stderr:
                sys.stderr.write("  server: " + text)

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self._stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        await self._stdin.drain()
        return await future

    async def _read(self) -> None:
        while True:
            length = 0
            while True:
                line = await self._stdout.readline()
                if not line:
                    self._fail(ConnectionError("server closed its stdout"))
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            message = json.loads(await self._stdout.readexactly(length))
            if "id" in message and ("result" in message or "error" in message):
                future = self._pending.pop(message["id"], None)
                if future is None or future.done():
                    continue
                if "error" in message:
                    error = message["error"]
                    future.set_exception(
                        RpcError(error.get("code", 0), error.get("message", ""), error.get("data"))
                    )
                else:
                    future.set_result(message.get("result"))
            elif "id" in message:  # a request from the server: answer "no result"
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def _fail(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.request("shutdown", None), 10)
            self.notify("exit", None)
            await self._stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        self._stderr_reader.cancel()
