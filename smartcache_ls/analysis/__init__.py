"""File analysis: language, outline, imports and line metrics, and import resolution.

``analyze(path, text)`` returns a JSON-able dict::

    {"language": "python" | ... | None, "lines": int, "bytes": int (UTF-8), "hash": content_hash(text),
     "symbols": [{"name", "kind", "range": {"start": {"line", "character"}, "end": {...}},
                  "children": [...]}],
     "imports": ["os.path", "./util", ...],
     "metrics": {"lines", "blank", "comment", "code", "maxDepth", "syntaxError", "truncated"}}

Ranges are 0-based LSP ranges whose ``character`` counts UTF-16 code units. ``maxDepth``
is the deepest symbol nesting (1: only top-level symbols), ``syntaxError`` whether the
parse had to recover from errors, ``truncated`` whether symbols were capped.

Importing this package is cheap: tree-sitter and the grammars load on the first
``analyze`` of a file that has a grammar.
"""

from __future__ import annotations

from .analyzer import analyze
from .languages import language_for
from .resolve import resolve_imports

__all__ = ["analyze", "language_for", "resolve_imports"]
