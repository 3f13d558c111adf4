"""Where ``smartcache-ls mcp`` gets its answers: the editor's session when one is live, else its own engine.

Every call first asks the editor's smartcache-ls over the live link (found anew
on each call, so an editor started after the MCP server is picked up at once,
and one that went away is dropped at once). Without one, a standalone engine on
the same cache dir answers: the SQLite cache the editor filled, the model it
saved, and analyses of its own, checked against the disk on every read.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from ..engine import Engine
from ..paths import PathRefused, path_to_uri
from ..protocol import RawJSON
from ..settings import Settings
from . import queries
from .link import Client, LinkError, RemoteError

log = logging.getLogger(__name__)


class ToolFailure(Exception):
    """A call the tools answer with an MCP tool error: ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def dispatch(engine: Engine, root: Path, method: str, params: dict[str, Any]) -> Any:
    """Run one query on ``engine``; refusals become RemoteError (the live endpoint's handler)."""
    query = queries.METHODS.get(method)
    if query is None:
        raise RemoteError("unknownMethod", f"unknown method {method!r}")
    try:
        return query(engine, root, params)
    except PathRefused as exc:
        path = params.get("path")
        if exc.reason == "outsideWorkspace" and isinstance(path, str):
            raise RemoteError(exc.reason, f"{path!r} resolves outside the workspace") from None
        raise RemoteError(exc.reason, _relative_message(exc.message, root)) from None
    except queries.BadArgument as exc:
        raise RemoteError("invalidParams", str(exc)) from None


def _relative_message(message: str, root: Path) -> str:
    """Refusal messages name workspace paths relative to the root, and nothing outside it."""
    for prefix in (f"file://{root}/", f"{root}/"):
        message = message.replace(prefix, "")
    return message.replace(str(root), "the workspace")


class Backend:
    def __init__(self, root: Path, cache_dir: Path, *, settings: Settings | None = None) -> None:
        self.root = root
        self.cache_dir = cache_dir
        self.settings = settings or Settings()
        self.link = Client(cache_dir, root)
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self.mode = "standalone"
        self.last_link_error: str | None = None
        self.started = time.monotonic()

    def engine(self) -> Engine:
        """The standalone engine, made on first use."""
        with self._engine_lock:
            if self._engine is None:
                # its statistics are not the editor's session: `smartcache-ls stats` keeps those
                engine = Engine(self.settings, self.cache_dir, watch=True, session_stats=False)
                engine.add_folder(path_to_uri(self.root))
                self._engine = engine
            return self._engine

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """The answer to one query, from the editor's session if live, else from the own engine."""
        value = self._ask(method, params)
        return orjson.loads(value) if isinstance(value, bytes) else value

    def call_raw(self, method: str, params: dict[str, Any]) -> bytes:
        """:meth:`call`'s answer as encoded JSON: the editor's reply bytes as they came, or the own
        engine's (pre-encoded where the query returns RawJSON), not decoded here."""
        value = self._ask(method, params)
        return value if isinstance(value, bytes) else orjson.dumps(value)

    def _ask(self, method: str, params: dict[str, Any]) -> Any:
        """The editor's reply bytes (live), else the own engine's answer as plain data or bytes."""
        try:
            result = self.link.call_raw(method, params)
        except LinkError as exc:
            if self.mode == "live":
                log.info("editor session gone (%s): answering alone", exc)
            self.mode, self.last_link_error = "standalone", str(exc)
        except RemoteError as exc:
            self.mode = "live"
            raise ToolFailure(exc.reason, exc.message) from None
        else:
            if self.mode != "live":
                log.info("answering from the editor's session")
                self._retire_engine()
            self.mode = "live"
            return result
        engine = self.engine()
        # The agent is this engine's only user: its background work (index, prefetch) waits for a
        # quiet moment as it does after an editor's request. (The editor's own session is left
        # to the editor's activity: an agent polling it must not hold its prefetch back.)
        engine.note_request()
        try:
            value = dispatch(engine, self.root, method, params)
        except RemoteError as exc:
            raise ToolFailure(exc.reason, exc.message) from None
        return value.data if isinstance(value, RawJSON) else value

    def _retire_engine(self) -> None:
        """The editor answers now: close the standalone engine (flushing its cache writes) off this call."""
        with self._engine_lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            threading.Thread(target=engine.close, name="smartcache-mcp-retire", daemon=True).start()

    def close(self) -> None:
        self.link.close()
        with self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
