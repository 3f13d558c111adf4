"""The read callback tree-sitter parses from, without the memory py-tree-sitter leaks through it.

py-tree-sitter 0.26.1 keeps one reference to every object a ``Parser.parse`` read callback
returns (measured here: 300 parses of a 20 KB text left 22 KB per parse allocated, the text
itself pinned by the chunks that view it). The callback form is the only one that takes a
progress callback, which the analyser needs for its time budget, so ``ChunkReader`` hands out
memoryview slices of the text and, once the parse is over, ``close()``:

* releases every slice (a released memoryview no longer holds the text), and
* gives back the one reference the binding kept, but only for a slice whose reference count
  shows that extra reference next to a control memoryview held the same way (so a fixed
  binding, which keeps none, is left alone).

tests/analysis/test_chunks.py checks that parsing leaks nothing with it.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["ChunkReader"]

_decref = ctypes.pythonapi.Py_DecRef
_decref.argtypes = [ctypes.py_object]
_decref.restype = None


class ChunkReader:
    """``read(offset, point)`` for ``Parser.parse`` over ``data``; ``close()`` after the parse."""

    __slots__ = ("_given", "_size", "_view")

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._size = len(data)
        self._given: list[memoryview] = []

    def read(self, offset: int, _point: object) -> memoryview | bytes:
        if offset >= self._size:
            return b""  # a shared constant: a reference kept to it costs nothing
        chunk = self._view[offset:]
        self._given.append(chunk)
        return chunk

    def close(self) -> None:
        given, self._given = self._given, []
        control = [memoryview(b"")]
        expected = sys.getrefcount(control[0])
        for i in range(len(given)):
            extra = sys.getrefcount(given[i]) - expected
            if extra > 0:  # references the binding took and never gave back
                for _ in range(extra):
                    _decref(given[i])
            given[i].release()
        control[0].release()
        given.clear()
        self._view.release()
