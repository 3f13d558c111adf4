"""LSP wiring: each handler adapts one LSP message to one engine call.

No cache or model logic lives here. Requests that may touch disk or compute
run on pygls' worker threads (``@server.thread()``); editor notifications run
on the event loop and only do in-memory work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from . import __version__, protocol
from .engine import Engine
from .jsonrpc import RpcProtocol, run_stdio, run_tcp
from .mcp.endpoints import LiveEndpoints
from .paths import PathRefused
from .redact import MaskingFilter
from .settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P")


class SmartCacheServer(LanguageServer):
    """The pygls server plus the engine it adapts to."""

    protocol: RpcProtocol

    def __init__(self, cache_dir: Path, settings: Settings | None = None, *, watch: bool = True) -> None:
        super().__init__("smartcache-ls", __version__, protocol_cls=RpcProtocol, max_workers=8)
        self.default_cache_dir = cache_dir
        self.settings = settings or Settings()
        self.watch = watch
        self.engine: Engine | None = None
        self.live: LiveEndpoints | None = None  # the link `smartcache-ls mcp` answers through
        self.log_handler: LspLogHandler | None = None  # installed by `initialize`
        self.loop: asyncio.AbstractEventLoop | None = None

    def merge_settings(self, raw: Any, origin: str) -> Settings:
        """Apply what the client sent to the current settings; log what was ignored."""
        settings, problems = self.settings.merged(protocol.plain(raw))
        for problem in problems:
            log.warning("%s: %s", origin, problem)
        self.settings = settings
        return settings

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        run_stdio(self, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)

    def start_tcp(self, host: str, port: int) -> None:
        run_tcp(self, host, port, _say_listening)

    def report_server_error(self, error: Exception, source: Any) -> None:
        log.error("%s", error)  # one line in the log; no window/showMessage popup

    def require_engine(self) -> Engine:
        if self.engine is None:
            raise JsonRpcException("the server is not initialized", code=-32002)
        return self.engine


def _say_listening(host: str, port: int) -> None:
    print(f"smartcache-ls: listening on {host}:{port}", file=sys.stderr, flush=True)


def _answer(call: Callable[[], T]) -> Any:
    """Run an engine call and turn its refusals into JSON-RPC errors."""
    try:
        # Encoded here, on the request's worker thread: the protocol splices the bytes in as they are.
        return protocol.encode_result(call())
    except protocol.InvalidParams as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    except PathRefused as exc:
        raise JsonRpcException(
            exc.message, code=protocol.REQUEST_FAILED, data={"reason": exc.reason}
        ) from None


class LspLogHandler(logging.Handler):
    """Forwards warnings and errors to the client's ``window/logMessage`` from any thread.

    Installed when ``initialize`` arrives, so what that handler warns of (a refused cache dir or
    workspace folder, a clamped setting) reaches the client too: held until ``initialized``
    sends it (at most ``HELD`` messages), then sent as it happens.
    """

    HELD = 64

    def __init__(self, server: SmartCacheServer) -> None:
        super().__init__(logging.WARNING)
        self.server = server
        self.addFilter(MaskingFilter())  # no credential reaches the client
        self._held: list[types.LogMessageParams] | None = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("smartcache_ls.jsonrpc"):
            return  # refused messages: the client has its error reply, stderr has the line
        kind = types.MessageType.Error if record.levelno >= logging.ERROR else types.MessageType.Warning
        params = types.LogMessageParams(type=kind, message=f"smartcache: {self.format(record)}")
        with self._lock:
            if self._held is not None:
                if len(self._held) < self.HELD:
                    self._held.append(params)
                return
        self._send(params)

    def send_held(self) -> None:
        """The client is initialized: send what was held, and from now on send at once."""
        with self._lock:
            held, self._held = self._held or [], None
        for params in held:
            self._send(params)

    def _send(self, params: types.LogMessageParams) -> None:
        loop = self.server.loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self.server.window_log_message, params)


def _request(
    server: SmartCacheServer,
    method: str,
    params_type: type[P],
    call: Callable[[Engine, P], Any],
) -> None:
    """Register a custom request: parse its params, call the engine, answer or raise a JSON-RPC error."""

    def handler(ls: SmartCacheServer, params: Any) -> Any:
        return _answer(lambda: call(ls.require_engine(), protocol.parse_params(params, params_type)))

    handler.__name__ = method.replace("/", "_")
    server.feature(method)(server.thread()(handler))


def _cache_dir(ls: SmartCacheServer, settings: Settings) -> Path:
    """The configured cache dir (the engine refuses unsafe ones itself), else the default one."""
    if not settings.cache_dir:
        return ls.default_cache_dir
    try:
        return Path(settings.cache_dir).expanduser()
    except RuntimeError as exc:  # "~nosuchuser/..."
        log.warning(
            "cacheDir %r cannot be used (%s): using %s", settings.cache_dir, exc, ls.default_cache_dir
        )
        return ls.default_cache_dir


def build_server(cache_dir: Path, *, watch: bool = True) -> SmartCacheServer:
    server = SmartCacheServer(cache_dir, watch=watch)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SmartCacheServer, params: types.InitializeParams) -> None:
        ls.log_handler = LspLogHandler(ls)
        logging.getLogger("smartcache_ls").addHandler(ls.log_handler)
        settings = ls.merge_settings(params.initialization_options, "initializationOptions")
        ls.engine = Engine(settings, _cache_dir(ls, settings), watch=ls.watch)
        ls.engine.index_gate.clear()  # no indexing competing with this reply: `initialized` opens it
        folders: list[tuple[str, str | None]] = [(f.uri, f.name) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [(params.root_uri, None)]
        for uri, name in folders:
            try:
                ls.engine.add_folder(uri, name)
            except PathRefused as exc:
                log.warning("not serving workspace folder: %s", exc.message)
        ls.live = LiveEndpoints(ls.engine)
        ls.live.sync()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: SmartCacheServer, params: types.InitializedParams) -> None:
        ls.loop = asyncio.get_running_loop()
        if ls.engine is not None:
            ls.engine.index_gate.set()
        if ls.log_handler is not None:
            ls.log_handler.send_held()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: SmartCacheServer, params: None) -> None:
        if ls.live is not None:
            ls.live.close()
        if ls.engine is not None:
            ls.engine.close()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SmartCacheServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.require_engine().did_open(doc.uri, doc.text, doc.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SmartCacheServer, params: types.DidChangeTextDocumentParams) -> None:
        # The protocol applied the changes to its in-memory copy (a document that is not open
        # never gets here): never read the text from disk.
        uri = params.text_document.uri
        text = ls.protocol.open_text(uri)
        if text is not None:
            ls.require_engine().did_change(uri, text, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: SmartCacheServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.require_engine().did_save(params.text_document.uri, params.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SmartCacheServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.require_engine().did_close(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: SmartCacheServer, params: types.DidChangeConfigurationParams) -> None:
        ls.require_engine().apply_settings(ls.merge_settings(params.settings, "configuration"))

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: SmartCacheServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        engine = ls.require_engine()
        for folder in params.event.removed:
            engine.remove_folder(folder.uri)
        for folder in params.event.added:
            try:
                engine.add_folder(folder.uri, folder.name)
            except PathRefused as exc:
                log.warning("not serving workspace folder: %s", exc.message)
        if ls.live is not None:
            ls.live.sync()

    @server.feature(protocol.DID_FOCUS)
    def did_focus(ls: SmartCacheServer, params: Any) -> None:
        try:
            parsed = protocol.parse_params(params, protocol.UriParams)
        except protocol.InvalidParams as exc:
            log.debug("ignoring %s: %s", protocol.DID_FOCUS, exc)
            return
        ls.require_engine().did_focus(parsed.uri)

    def clear(engine: Engine, p: protocol.ClearParams) -> protocol.ClearResult:
        engine.clear(p.scope)
        return protocol.ClearResult(scope=p.scope)

    # Every request may touch disk (stats count SQLite rows), so each runs on a worker thread.
    _request(server, protocol.STATS, protocol.StatsParams, lambda e, p: e.stats())
    _request(server, protocol.PREDICT, protocol.PredictParams, lambda e, p: e.predict(p.uri, p.k))
    _request(server, protocol.GET_FILE, protocol.UriParams, lambda e, p: e.get_file(p.uri))
    _request(server, protocol.GET_ANALYSIS, protocol.UriParams, lambda e, p: e.get_analysis(p.uri))
    _request(
        server,
        protocol.PREFETCH,
        protocol.PrefetchParams,
        lambda e, p: protocol.PrefetchResult(queued=e.prefetch(p.uris)),
    )
    _request(server, protocol.CLEAR, protocol.ClearParams, clear)
    _request(server, protocol.RELATED, protocol.RelatedParams, lambda e, p: e.related(p.uri, p.k))
    _request(
        server,
        protocol.FIND_SYMBOL,
        protocol.FindSymbolParams,
        lambda e, p: e.find_symbol(p.name, p.kind, p.k),
    )
    return server
