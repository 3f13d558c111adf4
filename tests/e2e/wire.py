"""A real server process driven over raw stdio frames, keeping everything it sends.

For tests that look at what a server writes besides replies: its notifications
(``window/logMessage``), its stderr, its exit code."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from smartcache_ls.paths import path_to_uri


class WireServer:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smartcache_ls", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.messages: list[dict[str, Any]] = []
        self._err: list[bytes] = []
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read_frames, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_frames(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                head += byte
            length = int(head.split(b"Content-Length:", 1)[1].split(b"\r\n", 1)[0])
            message = json.loads(out.read(length))
            with self._cond:
                self.messages.append(message)
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for chunk in iter(lambda: os.read(err.fileno(), 65536), b""):
            self._err.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self._err).decode("utf-8", "replace")

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, timeout: float = 30) -> dict[str, Any]:
        """The whole reply (``result`` or ``error``)."""
        msg_id = next(self._ids)
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if message.get("id") == msg_id and ("result" in message or "error" in message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no reply to {method} in {timeout} s: {self.stderr[-2000:]}")
                self._cond.wait(min(left, 0.2))

    def result(self, method: str, params: Any = None, timeout: float = 30) -> Any:
        reply = self.request(method, params, timeout)
        assert "result" in reply, reply
        return reply["result"]

    def initialize(self, workspace: Path, **options: Any) -> dict[str, Any]:
        reply = self.result(
            "initialize",
            {
                "processId": None,
                "capabilities": {},
                "workspaceFolders": [{"uri": path_to_uri(workspace), "name": "ws"}],
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})
        return dict(reply)

    def log_messages(self) -> list[str]:
        with self._cond:
            return [
                str(m["params"]["message"]) for m in self.messages if m.get("method") == "window/logMessage"
            ]

    def wait_for_log(self, text: str, timeout: float = 10, *, client: bool = False) -> bool:
        """Wait for ``text`` on stderr (``client``: in a window/logMessage)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in m for m in self.log_messages()) if client else text in self.stderr:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> int:
        """Shut down and exit; the exit code."""
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout=30)
                self.notify("exit", None)
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for thread in self._threads:
                thread.join(5)

    def __enter__(self) -> WireServer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.close()
