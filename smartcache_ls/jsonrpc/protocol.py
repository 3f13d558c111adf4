"""pygls' LSP protocol with our own message intake and output.

:meth:`RpcProtocol.receive` takes one frame body: decodes it strictly, checks the
JSON-RPC envelope, checks the params' shape against the method's lsprotocol
type (bounded depth and size), structures them and hands the message to pygls.
Every refused request gets its error reply (-32700, -32600, -32602); refused
notifications are dropped with one log line. Output is strict JSON (orjson),
a :class:`~smartcache_ls.protocol.RawJSON` result is spliced in as it is, plain
results are encoded once, and no error reply carries a traceback.

It also fixes what pygls' built-in handlers do that a long or hostile session
cannot afford: finished notification futures stay in the request table (a
leak per didOpen/didClose), a second ``initialize`` rebuilds everything, a
``didChange`` of a document that is not open reads its path from disk, and
requests after ``shutdown`` are dropped without a reply.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import traceback
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import Future
from functools import partial
from typing import Any
from urllib.parse import unquote

import attrs
import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcMethodNotFound
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    lsp_method,
)

from ..methods import RawJSON
from . import messages, shapes
from .messages import MsgId, Refusal
from .messages import readable_id as msg_id_of

log = logging.getLogger(__name__)

_PARAMS_MISSING = object()


class RpcProtocol(LanguageServerProtocol):
    """The server's protocol: strict intake, strict output, no leaks."""

    def __init__(self, server: Any, converter: cattrs.Converter) -> None:
        super().__init__(server, converter)
        self._write_lock = threading.Lock()
        self._initialize_seen = False

    # intake ---------------------------------------------------------------------
    def refuse_frame(self, reason: str) -> None:
        """A frame that could not be read (framing error): -32700 with id null."""
        log.warning("refused a frame: %s", reason)
        self._write_body(messages.error_body(None, messages.PARSE_ERROR, f"Parse error: {reason}"))

    def receive(self, body: bytes) -> None:
        """Handle one frame body; never raises (except to exit the process)."""
        msg_id: MsgId | None = None
        kind = "request"
        try:
            message, clean = messages.decode(body)
            kind = messages.check_envelope(message)
            msg_id = messages.readable_id(message)
            structured = self._structure(message, kind, clean)
        except Refusal as refusal:
            if kind == "notification":
                log.warning("dropped a notification: %s", refusal.message)
                return
            log.warning("refused a message: %s", refusal.message)
            refused_id = refusal.msg_id if refusal.code != messages.INVALID_PARAMS else msg_id
            self._write_body(messages.error_body(refused_id, refusal.code, refusal.message))
            return
        if structured is not None:
            self._dispatch(structured, kind, "error" in message)

    def _structure(self, message: dict[str, Any], kind: str, clean: bool) -> Any:
        if kind == "response":
            return self._structure_response(message)
        method: str = message["method"]
        params = message.get("params", _PARAMS_MISSING)
        message_type = self.get_message_type(method)
        where = f"{_short(method)}: "
        expects_id, shape = _message_facts(message_type)
        if message_type is not None and expects_id != (kind == "request"):
            what = "a notification: it takes no id" if kind == "request" else "a request: it needs an id"
            raise Refusal(
                messages.INVALID_REQUEST, f"Invalid Request: {method} is {what}", msg_id_of(message)
            )
        if params is not _PARAMS_MISSING and not isinstance(params, dict | list) and params is not None:
            raise Refusal(messages.INVALID_PARAMS, f"{where}params must be an object or an array")
        if not clean and messages.has_lone_surrogate(params if params is not _PARAMS_MISSING else None):
            raise Refusal(messages.INVALID_PARAMS, f"{where}params hold a string with a lone surrogate")
        value = None if params is _PARAMS_MISSING else params
        try:
            shapes.check(value, shape)
        except shapes.ShapeError as exc:
            raise Refusal(messages.INVALID_PARAMS, f"{where}{exc}") from None
        if message_type is None:
            if kind == "request":
                return JsonRPCRequestMessage(id=message["id"], method=method, jsonrpc="2.0", params=value)
            return JsonRPCNotification(method=method, jsonrpc="2.0", params=value)
        data = dict(message)
        if params is _PARAMS_MISSING or params is None:
            data.pop("params", None)
        try:
            return self._converter.structure(data, message_type)
        except Exception as exc:  # cattrs' errors, and what hooks raise on odd values
            raise Refusal(messages.INVALID_PARAMS, f"{where}{_describe(exc)}") from None

    def _structure_response(self, message: dict[str, Any]) -> Any:
        try:
            if "error" in message:
                return self._converter.structure(message, types.ResponseErrorMessage)
            response_type = self._result_types.pop(message["id"], None)
            if response_type is None:
                return JsonRPCResponseMessage(id=message["id"], jsonrpc="2.0", result=message.get("result"))
            return self._converter.structure(message, response_type)
        except Exception as exc:
            log.warning("dropped a response from the client: %s", _describe(exc))
            return None

    def handle_message(self, message: Any) -> None:
        if not self._refused_after_shutdown(message):
            super().handle_message(message)

    def _refused_after_shutdown(self, message: Any) -> bool:
        if not self._shutdown or getattr(message, "method", "") == types.EXIT:
            return False
        if hasattr(message, "method") and hasattr(message, "id"):
            self._send_response(
                message.id, error=types.ResponseError(messages.INVALID_REQUEST, "the server is shutting down")
            )
        else:
            log.debug("ignoring a message after shutdown")
        return True

    def _dispatch(self, message: Any, kind: str, error: bool) -> None:
        """:meth:`handle_message` of a message whose kind the envelope check told: pygls tells
        it by ``isinstance`` against runtime-checkable Protocols, ~10 us a message of
        attribute look-ups (every keystroke's didChange and request pays it)."""
        if self._refused_after_shutdown(message):
            return
        ctx = contextvars.copy_context()  # each handler in a context of its own, as pygls runs it
        if kind == "request":
            ctx.run(self._handle_request, message.id, message.method, message.params)
        elif kind == "notification":
            ctx.run(self._handle_notification, message.method, message.params)
        elif error:
            ctx.run(self._handle_response, message.id, None, message.error)
        else:
            ctx.run(self._handle_response, message.id, message.result)

    # dispatch --------------------------------------------------------------------
    def _execute_handler(
        self,
        msg_id: MsgId,
        handler: Any,
        callback: Callable[[Future[Any]], None],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        # pygls keeps the future of every async, threaded or generator handler in its
        # request table and only requests' results take it out again: drop it once done.
        def done(future: Future[Any]) -> None:
            try:
                callback(future)
            finally:
                if self._request_futures.get(msg_id) is future:
                    self._request_futures.pop(msg_id, None)

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    def _handle_request(self, msg_id: MsgId, method_name: str, params: Any) -> None:
        try:
            handler = self._get_handler(method_name)
        except JsonRpcMethodNotFound:
            log.warning("unknown request method %s", _short(method_name))
            error = types.ResponseError(messages.METHOD_NOT_FOUND, f"Method Not Found: {_short(method_name)}")
            self._send_response(msg_id, error=error)
            return
        self._ctx_msg_id.set(msg_id)
        try:
            self._execute_handler(
                msg_id,
                handler,
                partial(self._send_handler_result, msg_id=msg_id),
                args=(params,),
            )
        except Exception as exc:
            self._send_response(msg_id, error=_error_of(exc, _short(method_name)))

    def _send_handler_result(self, future: Future[Any], *, msg_id: MsgId) -> None:
        self._request_futures.pop(msg_id, None)
        if future.cancelled():
            error = types.ResponseError(messages.REQUEST_CANCELLED, f"request {msg_id!r} was cancelled")
            self._send_response(msg_id, error=error)
            return
        exc = future.exception()
        if exc is not None:
            self._send_response(msg_id, error=_error_of(exc, f"request {msg_id!r}"))
            return
        self._send_response(msg_id, result=future.result())

    def _handle_notification(self, method_name: str, params: Any) -> None:
        if method_name == types.CANCEL_REQUEST:
            self._handle_cancel_notification(params.id)
            return
        try:
            handler = self._get_handler(method_name)
        except JsonRpcMethodNotFound:
            log.debug("ignoring notification for unknown method %s", _short(method_name))
            return
        try:
            self._execute_handler(
                str(uuid.uuid4()),
                handler,
                partial(self._check_notification, _short(method_name)),
                args=(params,),
            )
        except Exception as exc:
            _error_of(exc, _short(method_name))

    def _check_notification(self, method_name: str, future: Future[Any]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            _error_of(exc, method_name)

    # output --------------------------------------------------------------------------
    def _send_response(
        self,
        msg_id: MsgId,
        result: Any | None = None,
        error: types.ResponseError | None = None,
    ) -> None:
        response_type = self._result_types.pop(msg_id, None)
        try:
            if error is not None:
                body = messages.error_body(msg_id, error.code, error.message, _safe_data(error))
            elif isinstance(result, RawJSON):
                body = b'{"jsonrpc":"2.0","id":%s,"result":%s}' % (messages.encode(msg_id), result.data)
            elif response_type is not None or attrs.has(type(result)):
                response = (response_type or JsonRPCResponseMessage)(id=msg_id, result=result, jsonrpc="2.0")
                body = messages.encode(self._converter.unstructure(response), self._serialize_message)
            else:
                body = messages.encode(
                    {"jsonrpc": "2.0", "id": msg_id, "result": result}, self._serialize_message
                )
        except (TypeError, ValueError) as exc:
            log.error("could not encode the answer to %r: %s", msg_id, exc)
            body = messages.error_body(
                msg_id, messages.INTERNAL_ERROR, "Internal error: the result is not JSON"
            )
        self._write_body(body)

    def _send_data(self, data: Any) -> None:
        """Notifications and requests to the client (responses go through _send_response)."""
        if data is None:
            return
        try:
            body = messages.encode(data, self._serialize_message)
        except (TypeError, ValueError) as exc:
            log.error("could not encode a message to the client: %s", exc)
            return
        self._write_body(body)

    def _write_body(self, body: bytes) -> None:
        writer = self.writer
        if writer is None:
            log.error("no transport to write to")
            return
        data = b"Content-Length: %d\r\n\r\n%s" % (len(body), body) if self._include_headers else body
        with self._write_lock:
            writer.write(data)

    def after_output(self, call: Callable[[], None]) -> None:
        """Call ``call`` once what was written so far is out (on the writer's thread), else now."""
        after = getattr(self.writer, "after", None)
        if after is None:
            call()
        else:
            after(call)

    # documents: in memory only, never from disk ----------------------------------------
    def open_text(self, uri: str) -> str | None:
        """The text of an open document, or None when it is not open."""
        if self._workspace is None:
            return None
        doc = self._workspace.text_documents.get(unquote(uri))
        return None if doc is None else doc.source

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        if self._initialize_seen:
            raise JsonRpcException("the server is already initialized", code=messages.INVALID_REQUEST)
        self._initialize_seen = True
        try:
            return (yield from super().lsp_initialize(params))
        except BaseException:
            self._initialize_seen = False  # nothing was built: the client may try again
            raise

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        # A copy: a cancelled future's done callback takes it out of the table (pygls iterated the table).
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if self._workspace is None:
            log.warning("ignoring didOpen before initialize")
            return
        self._workspace.put_text_document(params.text_document)
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        uri = params.text_document.uri
        doc = None if self._workspace is None else self._workspace.text_documents.get(unquote(uri))
        if doc is None:
            log.info("ignoring didChange of %s: the document is not open", uri)
            return
        try:
            for change in params.content_changes:
                doc.apply_change(change)
        except Exception as exc:  # a range outside the document
            log.warning("could not apply a change to %s (%s); closing it", uri, _describe(exc))
            self._workspace.remove_text_document(uri)  # type: ignore[union-attr]
            return
        doc.version = params.text_document.version
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if self._workspace is not None:
            self._workspace.remove_text_document(params.text_document.uri)
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield user_handler, (params,), None


_FACTS: dict[type, tuple[bool, shapes.Shape]] = {}


def _message_facts(message_type: type | None) -> tuple[bool, shapes.Shape]:
    """Whether a message type carries an id, and the shape of its params (once per type)."""
    if message_type is None:
        return False, shapes.ANY  # custom methods check their own params (protocol.parse_params)
    facts = _FACTS.get(message_type)
    if facts is None:
        fields = attrs.fields_dict(message_type)
        shape = shapes.ANY
        if "params" in fields:
            shape = shapes.shape_of(shapes.type_hints(message_type).get("params", Any))
        facts = _FACTS[message_type] = ("id" in fields, shape)
    return facts


def _safe_data(error: types.ResponseError) -> Any:
    """An error's data for the client: structured data only, never a traceback."""
    if error.code == messages.INTERNAL_ERROR or not isinstance(error.data, dict | list | int | float | bool):
        return None
    return error.data


def _error_of(exc: BaseException, where: str) -> types.ResponseError:
    """The reply for an exception of a handler, and one log line for it (traceback at DEBUG)."""
    if isinstance(exc, JsonRpcException):
        log.info("%s: %s", where, exc.message)
        return types.ResponseError(exc.code, exc.message, exc.data)
    log.error("%s failed: %s", where, _describe(exc))
    log.debug("%s", "".join(traceback.format_exception(exc)))
    return types.ResponseError(messages.INTERNAL_ERROR, f"Internal error: {_describe(exc)}")


def _short(text: str, limit: int = 100) -> str:
    """A method name fit for a log line or an error message."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _describe(exc: BaseException, limit: int = 300) -> str:
    """One line about an exception (cattrs' grouped errors flattened)."""
    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        text = "; ".join(cattrs.transform_error(exc)[:3])
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
