"""Import specifiers of a syntax tree, per language, as written in the source.

- python: ``import a.b`` -> "a.b"; ``from .m import x`` -> ".m"; ``from . import x`` -> ".x"
  (names imported from a bare relative package are usually its modules); ``__future__`` skipped.
- javascript/typescript/tsx: ``import``/``export ... from``, ``require("x")``, ``import("x")``,
  TS ``import x = require("x")``.
- go: import paths. java: ``a.b.C``, ``a.b.*`` (``static`` dropped).
- rust: ``use`` trees expanded to paths (``use std::{fmt, io}`` -> "std::fmt", "std::io",
  globs keep "::*"); ``mod m;`` (a module in another file) -> "self::m".
- c/cpp: ``#include`` targets without the quotes or angle brackets.

Import sites come from :func:`.scan.scan` (anywhere in the file: inside functions,
``if TYPE_CHECKING:``, ...). Never use ``Node.text`` here (see :func:`.languages.parse`).
The result is deduplicated, in document order, and capped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .source import Source

if TYPE_CHECKING:
    from tree_sitter import Node

#: At most this many imports per file.
MAX_IMPORTS = 2_000


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in "\"'`<" and text[-1] in "\"'`>":
        return text[1:-1]
    return ""


def _python(node: Node, src: Source) -> list[str]:
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


def _string(node: Node | None, src: Source) -> list[str]:
    if node is None:
        return []
    spec = _unquote(src.text(node).strip())
    return [spec] if spec and "\n" not in spec else []


def _javascript(node: Node, src: Source) -> list[str]:
    t = node.type
    if t == "call_expression":  # require("x"), import("x")
        function = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if function is None or args is None or args.type != "arguments":
            return []
        if not (
            function.type == "import" or (function.type == "identifier" and src.text(function) == "require")
        ):
            return []
        first = args.named_children[0] if args.named_child_count else None
        return _string(first, src) if first is not None and first.type == "string" else []
    source = node.child_by_field_name("source")
    if source is None and t == "import_statement":  # TS: import x = require("y")
        clause = next((c for c in node.named_children if c.type == "import_require_clause"), None)
        source = clause.child_by_field_name("source") if clause is not None else None
    return _string(source, src)


def _go(node: Node, src: Source) -> list[str]:
    out: list[str] = []
    for child in node.named_children:
        specs = child.named_children if child.type == "import_spec_list" else [child]
        for spec in specs:
            if spec.type == "import_spec":
                out += _string(spec.child_by_field_name("path"), src)
    return out


def _c(node: Node, src: Source) -> list[str]:
    # _string keeps only quoted or <bracketed> paths: #include MACRO yields nothing
    return _string(node.child_by_field_name("path"), src)


def _java(node: Node, src: Source) -> list[str]:
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
    if path is None:
        return []
    spec = "".join(src.text(path).split())
    if any(c.type == "asterisk" for c in node.children):
        spec += ".*"
    return [spec]


def _rust(node: Node, src: Source) -> list[str]:
    if node.type == "mod_item":  # mod m;  (not mod m { ... })
        if node.child_by_field_name("body") is not None:
            return []
        name = node.child_by_field_name("name")
        return ["self::" + src.name(name)] if name is not None else []
    arg = node.child_by_field_name("argument")
    if arg is None:
        return []
    out: list[str] = []
    stack: list[tuple[str, Node]] = [("", arg)]
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


_HANDLERS: dict[str, Callable[[Node, Source], list[str]]] = {
    "python": _python,
    "javascript": _javascript,
    "typescript": _javascript,
    "tsx": _javascript,
    "go": _go,
    "rust": _rust,
    "java": _java,
    "c": _c,
    "cpp": _c,
}


def extract_imports(language: str, sites: Iterable[Node], src: Source) -> list[str]:
    """The import specifiers at the given import sites (deduplicated, document order)."""
    handler = _HANDLERS[language]
    seen: set[str] = set()
    out: list[str] = []
    for node in sites:
        for spec in handler(node, src):
            if spec and spec not in seen:
                seen.add(spec)
                out.append(spec)
                if len(out) >= MAX_IMPORTS:
                    return out
    return out
