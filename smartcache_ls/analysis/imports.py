"""Import specifiers of a syntax tree, per language, as written in the source.

- python: ``import a.b`` -> "a.b"; ``from .m import x`` -> ".m"; ``from . import x`` -> ".x"
  (names imported from a bare relative package are usually its modules); ``__future__`` skipped.
- javascript/typescript/tsx: ``import``/``export ... from``, ``require("x")``, ``import("x")``,
  TS ``import x = require("x")``.
- go: import paths. java: ``a.b.C``, ``a.b.*`` (``static`` dropped).
- rust: ``use`` trees expanded to paths (``use std::{fmt, io}`` -> "std::fmt", "std::io",
  globs keep "::*"); ``mod m;`` (a module in another file) -> "self::m".
- c/cpp: ``#include`` targets without the quotes or angle brackets.

Queries use no text predicates (``#eq?``): trees parsed from a read callback, as ours
are, have no source for py-tree-sitter to compare (and ``Node.text`` crashes on them).
Queries find imports anywhere in the file (inside functions, ``if TYPE_CHECKING:``, ...).
The result is deduplicated, in document order, and capped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .languages import get_query
from .source import Source

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

#: At most this many imports per file.
MAX_IMPORTS = 2_000

_JS_COMMON = """
(import_statement source: (string) @src)
(export_statement source: (string) @src)
(call_expression arguments: (arguments . (string) @call))
"""
_TS_EXTRA = "(import_require_clause source: (string) @src)\n"

QUERIES: dict[str, str] = {
    "python": "(import_statement) @imp (import_from_statement) @imp",
    "javascript": _JS_COMMON,
    "typescript": _JS_COMMON + _TS_EXTRA,
    "tsx": _JS_COMMON + _TS_EXTRA,
    "go": "(import_spec path: (_) @src)",
    "rust": "(use_declaration argument: (_) @imp) (mod_item name: (identifier) @mod !body)",
    "java": "(import_declaration) @imp",
    "c": "(preproc_include path: (_) @src)",
    "cpp": "(preproc_include path: (_) @src)",
}


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in "\"'`<" and text[-1] in "\"'`>":
        return text[1:-1]
    return ""


def _python(node: Node, capture: str, src: Source) -> list[str]:
    if node.type == "import_statement":
        out = []
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                name = name.child_by_field_name("name") or name
            out.append(src.name(name).replace(" ", ""))
        return out
    module = node.child_by_field_name("module_name")
    if module is None:
        return []
    spec = src.name(module).replace(" ", "")
    if spec and spec.strip(".") == "":  # from . import a, b  ->  .a, .b
        names = []
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                name = name.child_by_field_name("name") or name
            names.append(spec + src.name(name).replace(" ", ""))
        return names or [spec]
    return [spec]


def _string(node: Node, capture: str, src: Source) -> list[str]:
    if capture == "call":  # the first argument of a call: keep require("x") and import("x")
        call = node.parent.parent if node.parent is not None else None
        function = call.child_by_field_name("function") if call is not None else None
        if function is None or not (
            function.type == "import" or (function.type == "identifier" and src.text(function) == "require")
        ):
            return []
    spec = _unquote(src.text(node).strip())
    return [spec] if spec else []


def _java(node: Node, capture: str, src: Source) -> list[str]:
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
    if path is None:
        return []
    spec = "".join(src.text(path).split())
    if any(c.type == "asterisk" for c in node.children):
        spec += ".*"
    return [spec]


def _rust(node: Node, capture: str, src: Source) -> list[str]:
    if capture == "mod":
        return ["self::" + src.name(node)]
    out: list[str] = []
    stack: list[tuple[str, Node]] = [("", node)]
    while stack and len(out) < MAX_IMPORTS:
        prefix, cur = stack.pop()
        t = cur.type
        if t == "scoped_use_list":
            path = cur.child_by_field_name("path")
            base = prefix + ("".join(src.text(path).split()) + "::" if path is not None else "")
            items = cur.child_by_field_name("list")
            if items is not None:
                stack.extend((base, c) for c in reversed(items.named_children))
        elif t == "use_list":
            stack.extend((prefix, c) for c in reversed(cur.named_children))
        elif t == "use_as_clause":
            path = cur.child_by_field_name("path")
            if path is not None:
                stack.append((prefix, path))
        elif t == "self" and prefix:
            out.append(prefix[:-2])
        elif t in ("line_comment", "block_comment", "attribute_item"):
            continue
        else:  # identifier, scoped_identifier, crate, super, self, use_wildcard, ...
            text = "".join(src.text(cur).split())
            if text:
                out.append(prefix + text)
    return out


_HANDLERS: dict[str, Callable[[Node, str, Source], list[str]]] = {
    "python": _python,
    "javascript": _string,
    "typescript": _string,
    "tsx": _string,
    "go": _string,
    "rust": _rust,
    "java": _java,
    "c": _string,
    "cpp": _string,
}


def extract_imports(language: str, tree: Tree, src: Source) -> list[str]:
    """The import specifiers of a parsed file (deduplicated, document order)."""
    query = get_query(language, "imports", QUERIES[language])
    if query is None:
        return []
    from tree_sitter import QueryCursor

    handler = _HANDLERS[language]
    captures = QueryCursor(query).captures(tree.root_node)
    nodes = sorted(
        ((node, name) for name, found in captures.items() for node in found),
        key=lambda pair: (pair[0].start_byte, pair[1]),
    )
    seen: set[str] = set()
    out: list[str] = []
    for node, capture in nodes:
        for spec in handler(node, capture, src):
            if spec and spec not in seen and len(out) < MAX_IMPORTS:
                seen.add(spec)
                out.append(spec)
    return out
