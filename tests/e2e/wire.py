"""A real server process (its own log level) for tests that read replies' results and what it
logs: its notifications (``window/logMessage``), its stderr as text, its exit code. The strict
reader of :mod:`.raw_server` underneath, so stray output on stdout fails these tests too."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from .raw_server import ServerProcess


class WireServer(ServerProcess):
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        super().__init__([sys.executable, "-m", "smartcache_ls", *args], {**os.environ, **(env or {})})

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8", "replace")

    def request(self, method: str, params: Any = None, timeout: float = 30) -> dict[str, Any]:
        """The whole reply (``result`` or ``error``); TimeoutError, with the stderr's tail, if none."""
        msg_id = self.send_request(method, params)
        try:
            return self.reply(msg_id, timeout)
        except AssertionError as exc:
            if self.bad_output:
                raise
            tail = self.stderr[-2000:]
            raise TimeoutError(f"no reply to {method} in {timeout} s ({exc}): {tail}") from None

    def result(self, method: str, params: Any = None, timeout: float = 30) -> Any:
        reply = self.request(method, params, timeout)
        assert "result" in reply, reply
        return reply["result"]

    def initialize(self, workspace: Path, **options: Any) -> dict[str, Any]:
        reply = self.start_session(workspace, options)
        assert "result" in reply, reply
        return dict(reply["result"])

    def log_messages(self) -> list[str]:
        with self._cond:
            return [
                str(m["params"]["message"]) for m in self.messages if m.get("method") == "window/logMessage"
            ]

    def wait_for_log(self, text: str, timeout: float = 10, *, client: bool = False) -> bool:
        """Wait for ``text`` on stderr (``client``: in a window/logMessage)."""
        if not client:
            return self.wait_for_stderr(text.encode(), timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in m for m in self.log_messages()):
                return True
            time.sleep(0.05)
        return False
