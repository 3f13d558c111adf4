"""Compact records: what the reference graph keeps per file, as one ``bytes`` of JSON.

A 50,000-file index held each file's entry as Python objects: an entry object, a tuple of
its uses, a tuple of its definitions, the hash and mtime decoded as their own objects, and
every name interned (sys.intern's table alone was 7.7 MB): 44 MB, measured by tracemalloc.
As one JSON record per file (orjson, decoded when asked) a file costs its bytes plus one
object header, and the collector never walks it. The names that key the graph's and the
symbol table's dictionaries are the only strings left per file.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ..cache.record import encode_json


def encode(value: Any) -> bytes:
    """The record of a JSON-able value (any str: a lone surrogate gets the json module's escape).

    A copy of what orjson returns: orjson 3.13's bytes keep the 4 KiB buffer it wrote into
    (``sys.getsizeof`` says 89 bytes, tracemalloc 4,098), 409 MB for 100,000 small records."""
    return bytes(memoryview(encode_json(value)))


def decode(data: bytes) -> Any:
    """The value of a record written by :func:`encode`."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # (the json module's escape of a lone surrogate)
        return json.loads(data)
