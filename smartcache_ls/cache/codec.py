"""JSON encoding of cached values: compact, UTF-8, no pickle.

Values are JSON-able (dict/list/str/int/float/bool/None). ``encode`` gives the
text stored on disk and on the wire; ``size_of`` is the UTF-8 byte length the
tiers use to bound themselves by bytes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["CodecError", "decode", "encode", "encode_sized", "loads", "size_of", "utf8_len"]

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# Decoding is on every lower-tier hit: orjson parses str or UTF-8 bytes several times faster than
# json and, like our encoder, refuses NaN and Infinity. Encoding stays with json (orjson would
# silently write NaN as null).
_decode = orjson.loads
loads = _decode  # raw decoder (raises ValueError) for hot paths that handle errors themselves


class CodecError(ValueError):
    """A value that is not JSON-able (or stored text that is not JSON)."""


def encode(value: Any) -> str:
    """Compact JSON text of a JSON-able value (raises CodecError otherwise)."""
    try:
        return _encoder.encode(value)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"value is not JSON-able: {exc}") from exc


def decode(text: str | bytes) -> Any:
    """The value of a JSON text (raises CodecError on malformed text)."""
    try:
        return _decode(text)
    except ValueError as exc:  # orjson.JSONDecodeError, invalid UTF-8 included
        raise CodecError(f"stored text is not JSON: {exc}") from exc


def encode_sized(value: Any) -> tuple[str, int]:
    """(JSON text, its UTF-8 byte length)."""
    text = encode(value)
    return text, utf8_len(text)


def utf8_len(text: str) -> int:
    """UTF-8 byte length of a str (cheap for ASCII text)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def size_of(value: Any) -> int:
    """Bytes the value takes as compact JSON (what the tiers count)."""
    return encode_sized(value)[1]
