"""The LSP side of the live link: one endpoint per workspace folder the engine serves.

``server.py`` calls :meth:`LiveEndpoints.sync` after the folders change and
:meth:`close` at shutdown; the endpoints answer on threads of their own.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from ..engine import Engine
from .backend import dispatch
from .link import Endpoint, LinkError

log = logging.getLogger(__name__)

DISABLE_ENV = "SMARTCACHE_NO_LIVE_LINK"  # set to 1: the editor's server opens no endpoint


class LiveEndpoints:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cache_dir = engine.cache_dir
        self._open: dict[Path, Endpoint] = {}
        self.enabled = os.environ.get(DISABLE_ENV, "") in ("", "0")

    def sync(self) -> None:
        """Open an endpoint for each served folder, close those of folders no longer served."""
        if not self.enabled:
            return
        roots = {ws.root for ws in self.engine.folders()}
        for root in set(self._open) - roots:
            self._open.pop(root).close()
        for root in roots - set(self._open):
            try:
                self._open[root] = Endpoint(
                    self.cache_dir, root, functools.partial(dispatch, self.engine, root)
                )
            except LinkError as exc:
                log.warning("no live link for MCP clients on %s: %s", root, exc)

    def close(self) -> None:
        for endpoint in self._open.values():
            endpoint.close()
        self._open.clear()
