"""The protocol floor: a minimal pygls 2 server, started the same way as ours.

Benchmarks measure smartcache-ls against this process in the same run. It
registers what an editor sends (didOpen/didChange/didClose, pygls' own document
handling) and three requests:

- ``floor/noop`` on pygls' worker threads, answering ``null``;
- ``floor/noopLoop`` on the event loop, answering ``null``;
- ``floor/payload`` ``{name}``: answers the JSON value stored under ``name``
  (``floor/store`` ``{name, value}`` stores one), so the same payload can be
  timed through pygls' own encoding.

    python bench/floor_server.py          # LSP over stdio
"""

from __future__ import annotations

import sys
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("floor", "0")
_stored: dict[str, Any] = {}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    pass


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    pass


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    pass


@server.feature("floor/noop")
@server.thread()
def noop(ls: LanguageServer, params: Any) -> None:
    return None


@server.feature("floor/noopLoop")
def noop_loop(ls: LanguageServer, params: Any) -> None:
    return None


@server.feature("floor/store")
def store(ls: LanguageServer, params: Any) -> None:
    data = _plain(params)
    _stored[data["name"]] = data["value"]


@server.feature("floor/payload")
@server.thread()
def payload(ls: LanguageServer, params: Any) -> Any:
    return _stored.get(_plain(params)["name"])


if __name__ == "__main__":
    rpc_out = sys.stdout.buffer
    sys.stdout = sys.stderr
    server.start_io(sys.stdin.buffer, rpc_out)
