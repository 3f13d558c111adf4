"""Every custom method: its name, its params and result types, and one converter.

Params arrive from pygls as nested namedtuples (``Object``), ``None``, or a list
(Neovim sends an empty Lua table as ``[]``). :func:`parse_params` turns them into
typed attrs objects or raises :class:`InvalidParams` with a message that says
what is wrong. Results are attrs objects turned into camelCase JSON by
:func:`to_wire`, and encoded once by :func:`encode_result`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import orjson

from .methods import CLEAR as CLEAR
from .methods import DID_FOCUS as DID_FOCUS
from .methods import FIND_SYMBOL as FIND_SYMBOL
from .methods import GET_ANALYSIS as GET_ANALYSIS
from .methods import GET_FILE as GET_FILE
from .methods import PREDICT as PREDICT
from .methods import PREFETCH as PREFETCH
from .methods import RELATED as RELATED
from .methods import REQUEST_FAILED as REQUEST_FAILED
from .methods import STATS as STATS
from .methods import RawJSON as RawJSON


def decoded(result: RawJSON) -> Any:
    """The value a RawJSON result holds, decoded (for Python callers of the engine)."""
    return orjson.loads(result.data)


class InvalidParams(ValueError):
    """Params of the wrong shape; answered with JSON-RPC InvalidParams (-32602)."""


def plain(value: Any) -> Any:
    """pygls' namedtuple ``Object`` trees to plain dicts and lists."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@attrs.frozen
class StatsParams:
    pass


@attrs.frozen
class PredictParams:
    uri: str | None = None
    k: int = 5


@attrs.frozen
class UriParams:
    uri: str


@attrs.frozen
class PrefetchParams:
    uris: list[str]


@attrs.frozen
class ClearParams:
    scope: str = "memory"


@attrs.frozen
class RelatedParams:
    uri: str
    k: int = 10


@attrs.frozen
class FindSymbolParams:
    name: str
    kind: str | None = None
    k: int = 10


# name on the wire -> (attribute, accepted python type, required)
_SCHEMAS: dict[type, dict[str, tuple[str, type, bool]]] = {
    StatsParams: {},
    PredictParams: {"uri": ("uri", str, False), "k": ("k", int, False)},
    UriParams: {"uri": ("uri", str, True)},
    PrefetchParams: {"uris": ("uris", list, True)},
    ClearParams: {"scope": ("scope", str, False)},
    RelatedParams: {"uri": ("uri", str, True), "k": ("k", int, False)},
    FindSymbolParams: {"name": ("name", str, True), "kind": ("kind", str, False), "k": ("k", int, False)},
}

P = TypeVar("P")


def parse_params(raw: Any, cls: type[P]) -> P:
    """Check ``raw`` against ``cls``'s schema and build it, or raise InvalidParams."""
    schema = _SCHEMAS[cls]
    data = plain(raw)
    if data is None or (isinstance(data, list) and not data):
        data = {}
    if not isinstance(data, dict):
        raise InvalidParams(f"params must be an object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise InvalidParams(f"unknown params: {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for wire, (attr, kind, required) in schema.items():
        if wire not in data or data[wire] is None:
            if required:
                raise InvalidParams(f"missing required param {wire!r}")
            continue
        value = data[wire]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidParams(f"param {wire!r} must be {kind.__name__}, got {value!r}")
        kwargs[attr] = value
    result = cls(**kwargs)
    _check_values(result)
    return result


def _check_values(params: Any) -> None:
    if isinstance(params, PredictParams | RelatedParams | FindSymbolParams) and not 1 <= params.k <= 100:
        raise InvalidParams(f"param 'k' must be between 1 and 100, got {params.k}")
    if isinstance(params, FindSymbolParams) and not params.name:
        raise InvalidParams("param 'name' must not be empty")
    if isinstance(params, PrefetchParams):
        if not all(isinstance(u, str) for u in params.uris):
            raise InvalidParams("param 'uris' must be a list of strings")
        if len(params.uris) > 1000:
            raise InvalidParams("param 'uris' holds more than 1000 uris")
    if isinstance(params, ClearParams) and params.scope not in ("memory", "all"):
        raise InvalidParams(f"param 'scope' must be 'memory' or 'all', got {params.scope!r}")


@attrs.frozen
class PredictionItem:
    uri: str
    probability: float
    reason: str


@attrs.frozen
class FileResult:
    uri: str
    text: str
    hash: str
    source: str


@attrs.frozen
class AnalysisResult:
    uri: str
    language: str | None
    lines: int
    bytes: int
    hash: str
    symbols: list[Any]
    imports: list[str]
    metrics: dict[str, Any]
    source: str


@attrs.frozen
class PrefetchResult:
    queued: int


@attrs.frozen
class ClearResult:
    scope: str
    cleared: bool = True


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_wire(value: Any) -> Any:
    """attrs results (and containers of them) to camelCase JSON-able data.

    A :class:`RawJSON` inside stays as it is (an ``orjson.Fragment``, written out verbatim).
    """
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.data)
    if attrs.has(type(value)):
        return {_camel(f.name): to_wire(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


def encode_result(value: Any) -> RawJSON:
    """A handler's result as the JSON bytes of its answer, encoded once (a RawJSON as it is)."""
    if isinstance(value, RawJSON):
        return value
    return RawJSON(orjson.dumps(to_wire(value)))
