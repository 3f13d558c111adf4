"""The names of the custom methods, and the one result type the wire layer knows (RawJSON).

Light on purpose: the server registers its methods and the JSON-RPC layer splices
RawJSON results in before anything heavy is imported (``protocol`` holds the params
and result types, and re-exports these).
"""

from __future__ import annotations

import attrs

STATS = "smartcache/stats"
PREDICT = "smartcache/predict"
GET_FILE = "smartcache/getFile"
GET_ANALYSIS = "smartcache/getAnalysis"
PREFETCH = "smartcache/prefetch"
CLEAR = "smartcache/clear"
RELATED = "smartcache/related"
FIND_SYMBOL = "smartcache/findSymbol"
DID_FOCUS = "smartcache/didFocus"
"""Notification: the editor switched to an already-open file (no didOpen is sent then)."""

# LSP error code for a request that was well-formed but could not be served.
REQUEST_FAILED = -32803


@attrs.frozen
class RawJSON:
    """A result already encoded as strict JSON (UTF-8 bytes of one JSON value).

    A handler that returns one has it written into the response as it is: no
    deep copy, no cattrs, no second ``json.dumps`` of data that is already plain.
    """

    data: bytes


