"""LSP wiring: each handler adapts one LSP message to one engine call.

No cache or model logic lives here. Requests that may touch disk or compute
run on pygls' worker threads (``@server.thread()``); editor notifications run
on the event loop and only do in-memory work.

``initialize`` is answered before the engine exists: the engine, its imports and the
workspace folders are set up right after the reply, on a thread (``startup``); the
notifications that arrive meanwhile wait in order and requests wait for it. This
module imports nothing of the engine at start-up for that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from . import __version__, methods
from .jsonrpc import RpcProtocol, run_stdio, run_tcp
from .redact import MaskingFilter
from .startup import DeferredEngine

if TYPE_CHECKING:
    from . import protocol
    from .engine import Engine
    from .mcp.endpoints import LiveEndpoints
    from .settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class SmartCacheServer(LanguageServer):
    """The pygls server plus the engine it adapts to."""

    protocol: RpcProtocol

    def __init__(self, cache_dir: Path, settings: Settings | None = None, *, watch: bool = True) -> None:
        super().__init__("smartcache-ls", __version__, protocol_cls=RpcProtocol, max_workers=8)
        self.default_cache_dir = cache_dir
        self._settings = settings
        self.watch = watch
        self.startup: DeferredEngine[tuple[Engine, LiveEndpoints]] | None = None  # from initialize on
        self.log_handler: LspLogHandler | None = None  # installed by `initialize`
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from .settings import Settings

            self._settings = Settings()
        return self._settings

    @property
    def engine(self) -> Engine | None:
        """The engine once it is built and serving (None before, or when it could not start)."""
        built = None if self.startup is None else self.startup.engine
        return None if built is None else built[0]

    @property
    def live(self) -> LiveEndpoints | None:
        """The link `smartcache-ls mcp` answers through."""
        built = None if self.startup is None else self.startup.engine
        return None if built is None else built[1]

    def merge_settings(self, raw: Any, origin: str) -> Settings:
        """Apply what the client sent to the current settings; log what was ignored."""
        from .protocol import plain

        settings, problems = self.settings.merged(plain(raw))
        for problem in problems:
            log.warning("%s: %s", origin, problem)
        self._settings = settings
        return settings

    def on_engine(self, call: Callable[[Engine], None]) -> None:
        """On the loop: ``call(engine)`` now, or once it is built (editor events keep their order)."""
        if self.startup is None:
            raise JsonRpcException("the server is not initialized", code=-32002)
        self.startup.on_engine(lambda built: call(built[0]))

    def close_engine(self) -> None:
        """Close the engine and its endpoints (waiting for the one being built)."""
        if self.startup is not None:
            self.startup.close()

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        run_stdio(self, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)

    def start_tcp(self, host: str, port: int) -> None:
        run_tcp(self, host, port, _say_listening)

    def report_server_error(self, error: Exception, source: Any) -> None:
        log.error("%s", error)  # one line in the log; no window/showMessage popup

    def require_engine(self) -> Engine:
        """The engine, for a request on a worker thread: waits while it is being built."""
        built = None if self.startup is None else self.startup.wait()
        if built is None:
            raise JsonRpcException("the server is not initialized", code=-32002)
        return built[0]


def _say_listening(host: str, port: int) -> None:
    print(f"smartcache-ls: listening on {host}:{port}", file=sys.stderr, flush=True)


def _answer(call: Callable[[], T]) -> Any:
    """Run an engine call and turn its refusals into JSON-RPC errors."""
    from . import protocol  # (imported by the engine already: a lookup)
    from .paths import PathRefused

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
    params_type: str,
    call: Callable[[Engine, Any], Any],
) -> None:
    """Register a custom request: parse its params (``protocol.<params_type>``), call the engine,
    answer or raise a JSON-RPC error."""

    def handler(ls: SmartCacheServer, params: Any) -> Any:
        from . import protocol

        return _answer(
            lambda: call(ls.require_engine(), protocol.parse_params(params, getattr(protocol, params_type)))
        )

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


def _start_engine(
    ls: SmartCacheServer, options: Any, folders: list[tuple[str, str | None]]
) -> tuple[Engine, LiveEndpoints]:
    """On the start-up thread: import the engine, build it, serve the folders, open the live link."""
    from .generated_code import compact_attrs_methods, drop_generated_sources
    from .heap import frozen_imports

    # As in cli._import_server: no full collection walks the protocol stack halfway through
    # these imports (it would hold the GIL the event loop needs), and what they made is frozen.
    with frozen_imports():
        from .engine import Engine
        from .mcp.endpoints import LiveEndpoints
    # (here, not before the initialize reply: 25 ms of start-up; the allocator reuses what
    # it frees, and the index build's trim gives back what is left)
    compact_attrs_methods()
    drop_generated_sources()
    settings = ls.merge_settings(options, "initializationOptions")
    engine = Engine(settings, _cache_dir(ls, settings), watch=ls.watch)
    try:
        _serve_folders(engine, folders)
        live = LiveEndpoints(engine)
        live.sync()
    except BaseException:
        engine.close()
        raise
    return engine, live


def _serve_folders(engine: Engine, folders: list[tuple[str, str | None]]) -> None:
    """Serve each (uri, name) folder; a refused one is logged and left out."""
    from .paths import PathRefused

    for uri, name in folders:
        try:
            engine.add_folder(uri, name)
        except PathRefused as exc:
            log.warning("not serving workspace folder: %s", exc.message)


def _close_engine(built: tuple[Engine, LiveEndpoints]) -> None:
    engine, live = built
    live.close()
    engine.close()


def build_server(cache_dir: Path, *, watch: bool = True) -> SmartCacheServer:
    server = SmartCacheServer(cache_dir, watch=watch)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SmartCacheServer, params: types.InitializeParams) -> None:
        ls.log_handler = LspLogHandler(ls)
        logging.getLogger("smartcache_ls").addHandler(ls.log_handler)
        folders: list[tuple[str, str | None]] = [(f.uri, f.name) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [(params.root_uri, None)]
        options = params.initialization_options
        ls.startup = startup = DeferredEngine(lambda: _start_engine(ls, options, folders), _close_engine)
        loop = asyncio.get_running_loop()
        # The reply is written once this handler returns: build the engine after it is out.
        loop.call_soon(ls.protocol.after_output, lambda: startup.start(loop))

    @server.feature(types.INITIALIZED)
    async def initialized(ls: SmartCacheServer, params: types.InitializedParams) -> None:
        ls.loop = asyncio.get_running_loop()
        if ls.log_handler is not None:
            ls.log_handler.send_held()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: SmartCacheServer, params: None) -> None:
        ls.close_engine()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SmartCacheServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.on_engine(lambda e: e.did_open(doc.uri, doc.text, doc.version))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SmartCacheServer, params: types.DidChangeTextDocumentParams) -> None:
        # The protocol applied the changes to its in-memory copy (a document that is not open
        # never gets here): never read the text from disk.
        uri = params.text_document.uri
        text = ls.protocol.open_text(uri)
        version = params.text_document.version
        if text is not None:
            ls.on_engine(lambda e: e.did_change(uri, text, version))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: SmartCacheServer, params: types.DidSaveTextDocumentParams) -> None:
        uri, text = params.text_document.uri, params.text
        ls.on_engine(lambda e: e.did_save(uri, text))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SmartCacheServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.on_engine(lambda e: e.did_close(uri))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: SmartCacheServer, params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        ls.on_engine(lambda e: e.apply_settings(ls.merge_settings(raw, "configuration")))

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: SmartCacheServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        event = params.event

        def change(engine: Engine) -> None:

            for folder in event.removed:
                engine.remove_folder(folder.uri)
            _serve_folders(engine, [(folder.uri, folder.name) for folder in event.added])
            if ls.live is not None:
                ls.live.sync()

        ls.on_engine(change)

    @server.feature(methods.DID_FOCUS)
    def did_focus(ls: SmartCacheServer, params: Any) -> None:
        def focus(engine: Engine) -> None:
            from . import protocol

            try:
                parsed = protocol.parse_params(params, protocol.UriParams)
            except protocol.InvalidParams as exc:
                log.debug("ignoring %s: %s", methods.DID_FOCUS, exc)
                return
            engine.did_focus(parsed.uri)

        ls.on_engine(focus)

    def clear(engine: Engine, p: protocol.ClearParams) -> protocol.ClearResult:
        from .protocol import ClearResult

        engine.clear(p.scope)
        return ClearResult(scope=p.scope)

    def prefetch(engine: Engine, p: protocol.PrefetchParams) -> protocol.PrefetchResult:
        from .protocol import PrefetchResult

        return PrefetchResult(queued=engine.prefetch(p.uris))

    def stats(engine: Engine, p: protocol.StatsParams) -> Any:
        return engine.stats()

    def predict(engine: Engine, p: protocol.PredictParams) -> Any:
        return engine.predict(p.uri, p.k)

    def get_file(engine: Engine, p: protocol.UriParams) -> Any:
        return engine.get_file(p.uri)

    def get_analysis(engine: Engine, p: protocol.UriParams) -> Any:
        return engine.get_analysis(p.uri)

    def related(engine: Engine, p: protocol.RelatedParams) -> Any:
        return engine.related(p.uri, p.k)

    def find_symbol(engine: Engine, p: protocol.FindSymbolParams) -> Any:
        return engine.find_symbol(p.name, p.kind, p.k)

    # Every request may touch disk (stats count SQLite rows), so each runs on a worker thread.
    # (The params types are named: `protocol` is imported with the engine, after the reply.)
    _request(server, methods.STATS, "StatsParams", stats)
    _request(server, methods.PREDICT, "PredictParams", predict)
    _request(server, methods.GET_FILE, "UriParams", get_file)
    _request(server, methods.GET_ANALYSIS, "UriParams", get_analysis)
    _request(server, methods.PREFETCH, "PrefetchParams", prefetch)
    _request(server, methods.CLEAR, "ClearParams", clear)
    _request(server, methods.RELATED, "RelatedParams", related)
    _request(server, methods.FIND_SYMBOL, "FindSymbolParams", find_symbol)
    return server
