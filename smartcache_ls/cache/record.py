"""A cached record: one bytes object holding what a client sees and what only the server needs.

Every tier stores the same bytes (memory as a ``bytes`` object, SQLite as a BLOB, Redis as a
string), so a hit in any tier is handed on without decoding or re-encoding it:

    [N,{meta},{body}]

``body`` is the JSON object a client is sent (a file's text and hash, an analysis's outline);
``meta`` holds the server's own fields beside it (stat fields that validate the entry, resolved
imports), and ``N`` is the length of the meta bytes, so both are found by slicing, with no parse
of the body. The whole record is one valid JSON document (an array), and neither part is ever a
Python object graph while it is cached: nothing for the garbage collector to walk.

A record with another shape (an older cache's entry, a damaged row) raises :class:`RecordError`;
the engine treats it as a miss.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["Record", "RecordError", "encode_json", "encode_record", "pack"]

_MAX_DIGITS = 20


class RecordError(ValueError):
    """Bytes that are not a record."""


def pack(meta: bytes, body: bytes) -> bytes:
    """The record of a meta and a body that are each one encoded JSON object."""
    return b"".join((b"[%d," % len(meta), meta, b",", body, b"]"))


def encode_json(value: Any) -> bytes:
    """Compact strict JSON of a JSON-able value, as UTF-8 bytes (orjson; NaN and Infinity become
    null). Text orjson refuses (a lone surrogate from an editor's buffer) is written with the
    json module's escapes instead, so any str can be cached and sent."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def encode_record(meta: Mapping[str, Any], body: Mapping[str, Any]) -> bytes:
    """Encode ``meta`` and ``body`` (JSON-able mappings) as a record."""
    return pack(encode_json(meta), encode_json(body))


class Record:
    """The two parts of record bytes, found by slicing (``start`` is where the body's ``{`` is)."""

    __slots__ = ("data", "meta_end", "meta_start", "start")

    def __init__(self, data: bytes) -> None:
        if len(data) < 7 or data[0] != 0x5B or data[-1] != 0x5D:  # '[' ... ']'
            raise RecordError("not a cached record")
        comma = data.find(b",", 1, _MAX_DIGITS + 2)
        digits = data[1:comma]
        if comma < 0 or not digits.isdigit():
            raise RecordError("not a cached record: no meta length")
        self.meta_start = comma + 1
        self.meta_end = self.meta_start + int(digits)
        self.start = self.meta_end + 1
        if (
            self.start >= len(data) - 1
            or data[self.meta_start] != 0x7B  # '{'
            or data[self.meta_end - 1] != 0x7D  # '}'
            or data[self.meta_end] != 0x2C  # ','
            or data[self.start] != 0x7B
            or data[-2] != 0x7D
        ):
            raise RecordError("not a cached record: bad framing")
        self.data = data

    def meta(self) -> dict[str, Any]:
        """The decoded meta object (small: stat fields, resolved imports)."""
        try:
            value = orjson.loads(memoryview(self.data)[self.meta_start : self.meta_end])
        except orjson.JSONDecodeError as exc:
            raise RecordError(f"not a cached record: {exc}") from None
        if not isinstance(value, dict):
            raise RecordError("not a cached record: meta is not an object")
        return value

    def body(self) -> dict[str, Any]:
        """The decoded body (a full parse: for Python callers, not for replies)."""
        try:
            value = orjson.loads(memoryview(self.data)[self.start : len(self.data) - 1])
        except orjson.JSONDecodeError as exc:
            raise RecordError(f"not a cached record: {exc}") from None
        if not isinstance(value, dict):
            raise RecordError("not a cached record: body is not an object")
        return value

    def splice(self, head: Mapping[str, Any]) -> bytes:
        """One JSON object: ``head``'s fields, then the body's, copied once and not re-encoded
        (``head``'s keys must not be among the body's)."""
        first = encode_json(head)
        if self.start + 2 == len(self.data) - 1 or len(first) == 2:  # an empty body or head
            if len(first) == 2:
                return self.data[self.start : len(self.data) - 1]
            return first
        return b"".join((first[:-1], b",", memoryview(self.data)[self.start + 1 : len(self.data) - 1]))
