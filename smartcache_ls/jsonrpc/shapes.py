"""A cheap shape check of params, derived from the attrs types a method expects.

cattrs structures a string where a list belongs by iterating it (one exception
per character: 16 s for 70,000 characters) and recurses on deep nesting until
RecursionError. :func:`check` runs first, in one bounded walk: depth at most
:data:`MAX_DEPTH`, at most :data:`MAX_NODES` values, and at every place the
type names, the JSON kind it allows (object, array, string, integer, number,
boolean, null) plus required fields of objects. It is conservative: a value it
accepts may still be refused by cattrs, but nothing valid is refused here, nor
what Neovim sends for an object (a Lua table as an array), which cattrs takes.

:func:`shape_of` derives the shape of any type lsprotocol uses (attrs classes,
``Optional``/``Union``, ``Sequence``, ``Mapping``, ``Literal``, enums,
``LSPAny``); shapes are cached per type, recursive types included. The fields of an
attrs type are read when a value is first checked against them: ``initialize`` names
the whole ClientCapabilities tree, of which a client sends a part (deriving all of it
cost about 7 ms of the start-up).
"""

from __future__ import annotations

import collections.abc
import contextlib
import enum
import sys
import types
import typing
from typing import Any, ForwardRef

import attrs

MAX_DEPTH = 64
MAX_NODES = 1_000_000

OBJECT, ARRAY, STRING, INTEGER, NUMBER, BOOLEAN, NULL = (
    "object",
    "array",
    "string",
    "integer",
    "number",
    "boolean",
    "null",
)


class ShapeError(ValueError):
    """Params that do not have the shape the method expects (answered with -32602)."""


class Shape:
    """What a JSON value at one place may be. ``kinds`` None means anything."""

    __slots__ = ("_attrs", "_fields", "_required", "items", "kinds", "values")

    def __init__(self) -> None:
        self.kinds: frozenset[str] | None = frozenset()
        self._fields: dict[str, Shape] = {}
        self._required: frozenset[str] = frozenset()
        self._attrs: type | None = None  # an attrs type whose fields are not read yet
        self.items: Shape | None = None
        self.values: Shape | None = None

    @property
    def fields(self) -> dict[str, Shape]:
        if self._attrs is not None:
            self._read_attrs()
        return self._fields

    @fields.setter
    def fields(self, value: dict[str, Shape]) -> None:
        self._fields = value

    @property
    def required(self) -> frozenset[str]:
        if self._attrs is not None:
            self._read_attrs()
        return self._required

    @required.setter
    def required(self, value: frozenset[str]) -> None:
        self._required = value

    def _read_attrs(self) -> None:
        tp, self._attrs = self._attrs, None
        assert tp is not None
        hints = type_hints(tp)
        fields = attrs.fields(tp)
        self._fields = {_camel(f.name): shape_of(hints.get(f.name, Any)) for f in fields}
        self._required = frozenset(_camel(f.name) for f in fields if f.default is attrs.NOTHING)

    def merge(self, other: Shape) -> None:
        """Widen this shape to also allow ``other`` (a union)."""
        if self.kinds is None or other.kinds is None:
            self.kinds = None
            return
        had_object = OBJECT in self.kinds
        self.kinds = self.kinds | other.kinds
        if OBJECT in other.kinds:
            if had_object:
                # A field required by only one alternative is optional in the union.
                self.required = self.required & other.required
                for name, shape in other.fields.items():
                    if name in self.fields:
                        self.fields[name] = _union(self.fields[name], shape)
                    else:
                        self.fields[name] = shape
                if self.values is not None or other.values is not None:
                    self.values = _union(self.values, other.values)
            elif other._attrs is not None:  # (Optional[X]: X's fields read when needed, here too)
                self._attrs = other._attrs
                self.values = other.values
            else:
                self.fields = dict(other.fields)
                self.required = other.required
                self.values = other.values
        if ARRAY in other.kinds:
            self.items = _union(self.items, other.items) if self.items is not None else other.items


ANY = Shape()
ANY.kinds = None


def _union(a: Shape | None, b: Shape | None) -> Shape:
    if a is None or b is None:
        return ANY
    out = Shape()
    out.merge(a)
    out.merge(b)
    return out


def _kind(*kinds: str) -> Shape:
    shape = Shape()
    shape.kinds = frozenset(kinds)
    return shape


_CACHE: dict[Any, Shape] = {}


def shape_of(tp: Any) -> Shape:
    """The shape of values of type ``tp`` (cached; ANY for what it cannot read)."""
    try:
        cached = _CACHE.get(tp)
    except TypeError:  # an unhashable annotation
        return ANY
    if cached is not None:
        return cached
    if isinstance(tp, type) and attrs.has(tp):
        shape = _kind(OBJECT)
        shape._attrs = tp  # its fields when first needed (a type may hold itself)
        _CACHE[tp] = shape
        return shape
    shape = _shape_of_type(tp)
    with contextlib.suppress(TypeError):  # an unhashable annotation
        _CACHE[tp] = shape
    return shape


def _shape_of_type(tp: Any) -> Shape:
    if tp is Any or tp is object:
        return ANY
    if tp is None or tp is type(None):
        return _kind(NULL)
    if tp is bool:
        return _kind(BOOLEAN)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _kinds_of_values([member.value for member in tp])
    if tp is int:
        return _kind(INTEGER)
    if tp is float:
        return _kind(NUMBER, INTEGER)
    if tp is str:
        return _kind(STRING)
    if isinstance(tp, ForwardRef | str):
        return _resolve(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        out = Shape()
        for arg in args:
            out.merge(shape_of(arg))
        return out
    if origin is typing.Literal:
        return _kinds_of_values(list(args))
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence, set, frozenset):
        shape = _kind(ARRAY)
        if origin is tuple:
            items = Shape()
            for arg in args:
                if arg is not Ellipsis:
                    items.merge(shape_of(arg))
            shape.items = items if args else ANY
        else:
            shape.items = shape_of(args[0]) if args else ANY
        return shape
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        shape = _kind(OBJECT)
        shape.values = shape_of(args[1]) if len(args) == 2 else ANY
        return shape
    if isinstance(tp, typing.NewType):
        return shape_of(tp.__supertype__)
    return ANY


def _kinds_of_values(values: list[Any]) -> Shape:
    kinds = [_value_kind(value) for value in values]
    return _kind(*(k for k in kinds if k is not None)) if None not in kinds else ANY


def _value_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, str):
        return STRING
    if value is None:
        return NULL
    return None


def type_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that does not evaluate: check nothing there
        return {}


def _resolve(ref: ForwardRef | str) -> Shape:
    name = ref.__forward_arg__ if isinstance(ref, ForwardRef) else ref
    module = sys.modules.get("lsprotocol.types")
    target = getattr(module, name, None) if module is not None else None
    return ANY if target is None else shape_of(target)


def _camel(name: str) -> str:
    """lsprotocol's wire name of a field (``text_document`` -> ``textDocument``, ``from_`` -> ``from``)."""
    name = name.removesuffix("_")
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_KIND_OF: dict[type, str] = {
    dict: OBJECT,
    list: ARRAY,
    str: STRING,
    bool: BOOLEAN,
    int: INTEGER,
    float: NUMBER,
}


def check(value: Any, shape: Shape) -> None:
    """Raise :class:`ShapeError` unless ``value`` fits ``shape`` within the depth and size bounds."""
    budget = [MAX_NODES]
    _check(value, shape, 0, "params", budget)


def _check(value: Any, shape: Shape | None, depth: int, where: str, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ShapeError(f"params hold more than {MAX_NODES} values")
    kind = NULL if value is None else _KIND_OF.get(type(value))
    kinds = None if shape is None else shape.kinds
    if kind == ARRAY and kinds is not None and OBJECT in kinds and ARRAY not in kinds:
        kinds = None  # a Lua table: Neovim sends {} as [] and some tables as [{...}] (cattrs takes both)
    if kinds is not None and kind not in kinds and not (kind == INTEGER and NUMBER in kinds):
        expected = " or ".join(sorted(kinds)) or "nothing"
        raise ShapeError(f"{where} must be {expected}, got {kind or type(value).__name__}")
    if kind == OBJECT:
        if depth >= MAX_DEPTH:
            raise ShapeError(f"params are nested deeper than {MAX_DEPTH} levels")
        if shape is not None and shape.kinds is not None:
            missing = [name for name in shape.required if name not in value]
            if missing:
                raise ShapeError(f"{where} lacks the required field {sorted(missing)[0]!r}")
            for name, item in value.items():
                inner = shape.fields.get(name, shape.values)
                _check(item, inner, depth + 1, f"{where}.{name}", budget)
        else:
            for item in value.values():
                _check(item, None, depth + 1, where, budget)
    elif kind == ARRAY:
        if depth >= MAX_DEPTH:
            raise ShapeError(f"params are nested deeper than {MAX_DEPTH} levels")
        inner = None if shape is None or kinds is None else shape.items
        for index, item in enumerate(value):
            _check(item, inner, depth + 1, f"{where}[{index}]", budget)
