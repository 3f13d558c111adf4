"""A real server process driven over its pipes, its stdout parsed strictly.

:class:`ServerProcess` keeps every message the server sends and its stderr; every byte of
stdout must belong to a ``Content-Length`` frame whose body is strict JSON (no
``NaN``/``Infinity``), anything else fails the test. :class:`RawServer` writes whatever
bytes a test gives it, for tests where the framing matters (``wire.WireServer`` is the
face for tests that read results and logs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self

from smartcache_ls.paths import path_to_uri

SERVER = [sys.executable, "-m", "smartcache_ls", "--log-level", "INFO"]


def frame(message: Any) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _strict(name: str) -> Any:
    raise AssertionError(f"non-JSON constant {name} on stdout")


def _key(msg_id: Any) -> Any:
    return (type(msg_id).__name__, msg_id) if isinstance(msg_id, int | str) else None


class ServerProcess:
    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.messages: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.arrivals: list[float] = []  # time.monotonic() of each message
        self.by_id: dict[Any, dict[str, Any]] = {}  # the first response to each id
        self.bad_output: list[bytes] = []
        self._err = bytearray()
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self._ids = 1000

    # output --------------------------------------------------------------------
    def _read_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        buf = b""
        while True:
            chunk = out.read1(65536)
            if not chunk:
                break
            buf += chunk
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                header = buf[:end]
                if not header.startswith(b"Content-Length: "):
                    self._bad(buf)
                    return
                length = int(header.split(b"\r\n")[0][len(b"Content-Length: ") :])
                if len(buf) < end + 4 + length:
                    break
                body = buf[end + 4 : end + 4 + length]
                buf = buf[end + 4 + length :]
                try:
                    message = json.loads(body, parse_constant=_strict)
                except (ValueError, AssertionError):
                    self._bad(body)
                    return
                with self._cond:
                    self.bodies.append(body)
                    self.arrivals.append(time.monotonic())
                    self.messages.append(message)
                    if "method" not in message and isinstance(message, dict):
                        self.by_id.setdefault(_key(message.get("id")), message)
                    self._cond.notify_all()
        if buf:
            self._bad(buf)

    def _bad(self, data: bytes) -> None:
        with self._cond:
            self.bad_output.append(data[:200])
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for chunk in iter(lambda: err.read1(65536), b""):
            self._err += chunk

    @property
    def stderr_bytes(self) -> bytes:
        return bytes(self._err)

    def wait_for_stderr(self, text: bytes, timeout: float = 10) -> bool:
        """Wait for ``text`` on stderr: the server logs from its own threads, so a line may
        come after a reply it sent later, and the reader thread takes it in after that."""
        deadline = time.monotonic() + timeout
        while text not in self._err:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    # input ----------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message))

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def send_request(self, method: str, params: Any = None) -> int:
        """Send a request; its id."""
        msg_id = self.next_id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(frame(message))
        return msg_id

    def request(self, method: str, params: Any = None, timeout: float = 10.0) -> dict[str, Any]:
        return self.reply(self.send_request(method, params), timeout)

    def reply(self, msg_id: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The response with ``msg_id`` (which stays available to later calls)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                assert not self.bad_output, self.bad_output
                found = self.by_id.get(_key(msg_id))
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"no reply to {msg_id!r} within {timeout} s"
                assert self.proc.poll() is None, f"server exited with {self.proc.returncode}"
                self._cond.wait(left)

    def replies(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` responses (not notifications) arrived; return all of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if "method" not in m]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"{len(found)} of {count} replies within {timeout} s"
                assert self.proc.poll() is None, f"server exited with {self.proc.returncode}"
                self._cond.wait(left)

    def start_session(self, workspace: Path, options: dict[str, Any]) -> dict[str, Any]:
        """``initialize`` with ``workspace`` as the one folder, then ``initialized``; the reply."""
        reply = self.request(
            "initialize",
            {
                "processId": None,
                "capabilities": {},
                "workspaceFolders": [{"uri": path_to_uri(workspace), "name": "ws"}],
                "initializationOptions": options,
            },
            timeout=30,
        )
        self.notify("initialized", {})
        return reply

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def close(self) -> int:
        """Shut down cleanly if still running; the exit code."""
        if self.proc.poll() is None:
            try:
                self.reply(self.send_request("shutdown"), 20)
                self.notify("exit")
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except (AssertionError, BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for thread in self._threads:
            thread.join(10)
        return self.proc.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RawServer(ServerProcess):
    """The server with ``--log-level INFO``; raw bytes in, every message and stderr as bytes out."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        super().__init__([*SERVER, *args], env or dict(os.environ))

    @property
    def stderr(self) -> bytes:
        return self.stderr_bytes

    def initialize(self, workspace: Path, cache_dir: Path | str, **options: Any) -> dict[str, Any]:
        return self.start_session(workspace, {"cacheDir": str(cache_dir), **options})
