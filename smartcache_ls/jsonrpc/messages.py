"""JSON-RPC 2.0 messages: strict decoding, the envelope check, strict encoding.

Bodies are decoded with orjson. A body orjson refuses but the JSON grammar
allows (a number beyond a double such as ``1e400``, an integer beyond 64 bits,
an escaped lone surrogate) is decoded again by the standard library so that
its id can still be read and the client gets the answer it is owed; the values
it holds that cannot be sent back are then refused where they sit (an id is
-32600, params are -32602). ``NaN`` and ``Infinity`` are not JSON and are never
accepted. Every outgoing message is encoded by :func:`encode`: strict JSON, or
an error.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
REQUEST_CANCELLED = -32800
REQUEST_FAILED = -32803

MsgId = int | str

_MAX_ID = 2**63
_MAX_SECOND_READ = 1024 * 1024  # larger bodies orjson refuses are parse errors, not read twice


class Refusal(Exception):
    """A message that is answered with an error instead of being handled."""

    def __init__(self, code: int, message: str, msg_id: MsgId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.msg_id = msg_id


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(body: bytes) -> tuple[Any, bool]:
    """The JSON value of a body, and whether orjson could read it (then it holds only sendable values).

    Raises :class:`Refusal` (-32700) when the body is not UTF-8 JSON.
    """
    try:
        return orjson.loads(body), True
    except orjson.JSONDecodeError as first:
        if len(body) > _MAX_SECOND_READ:
            raise Refusal(PARSE_ERROR, f"Parse error: {first}") from None
        try:
            return json.loads(body.decode("utf-8"), parse_constant=_no_constant), False
        except (ValueError, RecursionError):
            raise Refusal(PARSE_ERROR, f"Parse error: {first}") from None


def sendable(value: Any) -> bool:
    """Whether ``value`` can be encoded back as strict JSON (no lone surrogate, no integer beyond 64 bits)."""
    try:
        orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return True


def has_lone_surrogate(value: Any) -> bool:
    """Whether a decoded value holds a string that is not valid Unicode (walks it iteratively)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and not sendable(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def readable_id(message: dict[str, Any]) -> MsgId | None:
    """The message's id if it is one JSON-RPC allows and we can echo; else None."""
    value = message.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -_MAX_ID <= value < _MAX_ID else None
    if isinstance(value, str):
        return value if sendable(value) else None
    return None


def check_envelope(message: Any) -> str:
    """``"request"``, ``"notification"`` or ``"response"``; or :class:`Refusal` (-32600)."""
    if isinstance(message, list):
        raise Refusal(INVALID_REQUEST, "Invalid Request: batches are not supported")
    if not isinstance(message, dict):
        raise Refusal(INVALID_REQUEST, "Invalid Request: a message is a JSON object")
    has_id = "id" in message
    msg_id = readable_id(message)
    if message.get("jsonrpc") != "2.0":
        raise Refusal(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', msg_id)
    if has_id and msg_id is None and not ("error" in message and message["id"] is None):
        raise Refusal(INVALID_REQUEST, f"Invalid Request: bad id {_show(message['id'])}")
    if "method" in message:
        method = message["method"]
        if not isinstance(method, str) or not sendable(method):
            raise Refusal(INVALID_REQUEST, f"Invalid Request: bad method {_show(method)}", msg_id)
        if "result" in message or "error" in message:
            raise Refusal(INVALID_REQUEST, "Invalid Request: a request holds no result or error", msg_id)
        return "request" if has_id else "notification"
    if has_id and (("result" in message) != ("error" in message)):
        return "response"
    raise Refusal(INVALID_REQUEST, "Invalid Request: no method", msg_id)


def error_body(msg_id: MsgId | None, code: int, message: str, data: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return encode({"jsonrpc": "2.0", "id": msg_id, "error": error})


def encode(message: Any, default: Any = None) -> bytes:
    """Strict JSON bytes of ``message``; non-finite floats become null.

    Falls back to the standard library (ASCII, ``allow_nan=False``) for what
    orjson cannot encode, such as integers beyond 64 bits; raises ValueError or
    TypeError when neither can.
    """
    try:
        return orjson.dumps(message, default=default)
    except orjson.JSONEncodeError:
        return json.dumps(message, default=default, allow_nan=False, separators=(",", ":")).encode()


def _show(value: Any, limit: int = 60) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
