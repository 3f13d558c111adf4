"""The workspace symbol table: which files define a name, and where.

Definitions are the top-level symbols of each file's outline, plus the types nested
in a type (``Outer.Inner`` is referred to as ``Inner``). Paths are workspace-relative.
Each file's definitions are kept as one record (``records.py``), decoded when asked.
The owner (the reference graph, under its workspace's lock) serialises access.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, cast

from .records import decode, encode

#: Nested symbols of these kinds are definitions too (types inside types).
NESTED_KINDS = frozenset({"class", "interface", "enum", "struct", "record", "trait", "annotation"})

# Where a definition is: start line, start character, end line, end character. A tuple of ints,
# not the LSP range's nested dicts: a large workspace holds a million definitions, and tuples of
# plain values are left out of the cyclic collector's walks (dicts of dicts are walked by every
# full collection: 74 ms of CPU per collection at 600,000 definitions).
Span = tuple[int, int, int, int]
Definition = tuple[str, str, Span]  # (name, kind, span)
NO_SPAN: Span = (0, 0, 0, 0)
#: A file's definitions, flat: (name, kind, start line, start character, end line, end character,
#: name, ...). A list of (name, kind, span) tuples was 56 + 136 bytes a definition more.
Packed = tuple[str | int, ...]
STRIDE = 6


def pack(defs: Iterable[Definition] | Packed) -> Packed:
    """The flat form of definitions (a packed tuple is kept as it is)."""
    if isinstance(defs, tuple) and (not defs or isinstance(defs[0], str)):
        return cast(Packed, defs)
    return tuple(x for name, kind, span in cast(Iterable[Definition], defs) for x in (name, kind, *span))


def unpack(packed: Packed) -> Iterator[Definition]:
    """(name, kind, span) of packed definitions, in order (strided slices zipped: no bytecode
    run per definition, unlike a slice of each)."""
    spans = zip(*(packed[i::STRIDE] for i in range(2, STRIDE)), strict=True)
    return cast(Iterator[Definition], zip(packed[::STRIDE], packed[1::STRIDE], spans, strict=True))


def span_of(raw: Any) -> Span:
    """The span of an LSP range (``{"start": {"line", "character"}, "end": ...}``) or of a stored
    span (a list of four ints); ``NO_SPAN`` for anything else."""
    if isinstance(raw, dict):
        start, end = raw.get("start"), raw.get("end")
        if isinstance(start, dict) and isinstance(end, dict):
            raw = [start.get("line"), start.get("character"), end.get("line"), end.get("character")]
    if isinstance(raw, list | tuple) and len(raw) == 4 and all(type(v) is int for v in raw):
        return (raw[0], raw[1], raw[2], raw[3])
    return NO_SPAN


def lsp_range(span: Span) -> dict[str, Any]:
    """The LSP range of a span (what clients are sent)."""
    return {
        "start": {"line": span[0], "character": span[1]},
        "end": {"line": span[2], "character": span[3]},
    }


def definition(name: str, kind: str, raw: Any) -> Definition:
    """A definition with its kind interned (a few kinds, shared by every definer row). Names
    are not: the symbol table keeps one copy of each, as its key, and the files' definitions
    as records; the interpreter's table of 100,000 interned names was 7.7 MB."""
    return (name, sys.intern(kind), span_of(raw))


def definitions(symbols: Iterable[Any]) -> list[Definition]:
    """The definitions of an analysis' outline: top-level symbols and nested types."""
    out: list[Definition] = []
    stack = [(s, True) for s in reversed(list(symbols))]
    while stack:
        sym, top = stack.pop()
        if not isinstance(sym, dict):
            continue
        name, kind = sym.get("name"), sym.get("kind")
        if not isinstance(name, str) or not isinstance(kind, str) or not name:
            continue
        if top or kind in NESTED_KINDS:
            out.append(definition(name, kind, sym.get("range")))
            if kind in NESTED_KINDS:
                stack.extend((c, False) for c in reversed(sym.get("children") or []))
    return out


_NONE: Mapping[str, tuple[str, Span]] = MappingProxyType({})

#: A name's definers: the file for the one file that defines it (most names; its kind and span
#: are that file's first definition of the name: a (file, kind, span) tuple per name was 6 MB of
#: a 50,000-file index, a dict per name 23 MB), {file: (kind, span)} for several.
_Row = str | dict[str, tuple[str, Span]]


class SymbolTable:
    def __init__(self) -> None:
        self._defs: dict[str, _Row] = {}  # name -> its definers
        self._by_file: dict[str, bytes] = {}  # file -> the record of its packed definitions

    def __len__(self) -> int:
        return len(self._defs)

    def packed(self, rel: str) -> Packed:
        """The packed definitions of ``rel`` (decoded from its record; () when it has none)."""
        data = self._by_file.get(rel)
        return () if data is None else tuple(decode(data))

    def names_of(self, rel: str) -> set[str]:
        return cast(set[str], set(self.packed(rel)[::STRIDE]))

    def _first(self, rel: str, name: str) -> tuple[str, Span]:
        """(kind, span) of the first definition of ``name`` in ``rel`` (one lookup: a scan of
        the names at C speed; ``set_file`` asks for many at once through ``_firsts``)."""
        packed = self.packed(rel)
        try:
            i = packed[::STRIDE].index(name) * STRIDE
        except ValueError:
            raise KeyError(name) from None
        return sys.intern(cast(str, packed[i + 1])), cast(Span, packed[i + 2 : i + STRIDE])

    def _firsts(self, rel: str) -> dict[str, tuple[str, Span]]:
        """{name: (kind, span)} of the first definition of each name of ``rel``."""
        out: dict[str, tuple[str, Span]] = {}
        for name, kind, span in unpack(self.packed(rel)):
            if name not in out:
                out[name] = (sys.intern(kind), span)
        return out

    def set_file(self, rel: str, defs: Iterable[Definition] | Packed) -> set[str]:
        """Replace the definitions of ``rel``; returns the names whose definers changed."""
        before = self.names_of(rel)
        self.drop_file(rel)
        packed = pack(defs)
        if packed:
            self._by_file[rel] = encode(packed)
            # A file that was a name's only definer is looked up once by a scan, from its second
            # name on through its definitions read once: a scan per name was quadratic (a copy
            # of a 2,600-definition file: 0.7 s, and the editor stalled for seconds).
            others: dict[str, dict[str, tuple[str, Span]] | None] = {}
            for name, kind, span in unpack(packed):
                row = self._defs.get(name)
                if row is None:
                    self._defs[name] = rel
                elif isinstance(row, str):
                    if row != rel:  # (a file's first definition of a name is the one kept)
                        if row not in others:
                            others[row] = None
                            first = self._first(row, name)
                        else:
                            firsts = others[row]
                            if firsts is None:
                                firsts = others[row] = self._firsts(row)
                            first = firsts[name]
                        self._defs[name] = {row: first, rel: (kind, span)}
                else:
                    row.setdefault(rel, (kind, span))
        return before ^ self.names_of(rel)

    def drop_file(self, rel: str) -> set[str]:
        defs = self.packed(rel)
        if not self._by_file.pop(rel, None):
            return set()
        names = cast(tuple[str, ...], defs[::STRIDE])
        for name in names:
            row = self._defs.get(name)
            if isinstance(row, str):
                if row == rel:
                    del self._defs[name]
            elif row is not None:
                row.pop(rel, None)
                if len(row) == 1:
                    self._defs[name] = next(iter(row))
                elif not row:
                    del self._defs[name]
        return set(names)

    def definer_files(self, name: str) -> Collection[str]:
        """The files defining ``name`` (read only)."""
        row = self._defs.get(name)
        if row is None:
            return ()
        if isinstance(row, str):
            return (row,)
        return row.keys()

    def definers(self, name: str) -> Mapping[str, tuple[str, Span]]:
        """{file: (kind, span)} of the files defining ``name`` (read only)."""
        row = self._defs.get(name)
        if row is None:
            return _NONE
        if isinstance(row, str):
            return {row: self._first(row, name)}
        return row

    def find(self, name: str, kind: str | None = None, k: int = 10) -> list[tuple[str, str, str, Span]]:
        """(name, kind, file, span) of definitions: exact matches first, then case-insensitive
        ones, then names starting with ``name`` (case-insensitive); files in path order."""
        out: list[tuple[str, str, str, Span]] = []

        def add(found: str) -> bool:
            for rel, (knd, rng) in sorted(self.definers(found).items()):
                if kind is None or knd == kind:
                    out.append((found, knd, rel, rng))
                    if len(out) >= k:
                        return True
            return False

        if k <= 0 or not name:
            return out
        if name in self._defs and add(name):
            return out
        low = name.lower()
        rest = sorted(n for n in self._defs if n != name and n.lower().startswith(low))
        for n in sorted(rest, key=lambda n: (n.lower() != low, len(n), n)):
            if add(n):
                break
        return out
