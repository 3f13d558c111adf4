"""The names a file uses that another file of the workspace may define.

``names(language, tree, src)`` returns ``{"package": str | None, "uses": {name: count}}``:

- java: type identifiers (declarations, ``new``, generics, ``extends``: same-package types
  have no import at all) and capitalised receivers of calls and field accesses
  (``Resources.getInstance()``); ``package`` is the package declaration.
- python: names imported with ``from m import name`` and attributes of imported modules
  (``module.attr`` where ``module`` was bound by an import).
- javascript/typescript/tsx: named imports, ``new X``, ``ns.attr`` of namespace/default
  imports; TypeScript type identifiers.
- go: package-qualified names (``pkg.Name``), type identifiers, called functions;
  ``package`` is the package clause.
- rust: type identifiers, the last segment of paths and ``use`` lists, called functions.
- c/cpp: type identifiers and called functions (and ``ns::name``).

The top-level names a file *defines* are its outline's top-level symbols, which the
analysis already holds. The captures run in C (tree-sitter queries of single nodes or a
node and its direct child, so their cost is linear in the tree); Python only slices the
captured byte ranges. The result is capped at ``MAX_NAMES`` distinct names.
The tree keeps no source (see :func:`.languages.parse`): never use ``Node.text`` here,
nor a query predicate or progress callback (py-tree-sitter 0.26 crashes on both).
"""

from __future__ import annotations

import logging
import threading
from codecs import utf_16_le_decode
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .languages import get_language
from .source import Source

if TYPE_CHECKING:
    from tree_sitter import Node, Query, Tree

logger = logging.getLogger(__name__)

#: At most this many distinct names per file (the most used are kept).
MAX_NAMES = 2_000
#: The query cursor stops tracking in-progress matches past this many.
MATCH_LIMIT = 1_024
#: A tree with syntax errors is queried in its error-free subtrees only (queries can be
#: quadratic in error trees: 300,000 "(" took 110 s), found at most this deep ...
ERROR_DEPTH = 4
#: ... and at most this many of them (beyond, the file's names are left out).
MAX_SUBTREES = 512

_TS_COMMON = (
    "(import_specifier name: (identifier) @use)"
    "(namespace_import (identifier) @bind)"
    "(import_clause (identifier) @bind)"
    "(member_expression object: (identifier) @obj property: (property_identifier) @attr)"
    "(new_expression constructor: (identifier) @use)"
)
QUERIES: dict[str, str] = {
    "java": (
        "(type_identifier) @use"
        "(method_invocation object: (identifier) @cap)"
        "(field_access object: (identifier) @cap)"
        "(package_declaration (scoped_identifier) @pkg)"
        "(package_declaration (identifier) @pkg)"
    ),
    "python": (
        "(import_from_statement name: (dotted_name (identifier) @use .))"
        "(import_from_statement name: (aliased_import name: (dotted_name (identifier) @use .)"
        " alias: (identifier) @bind))"
        "(import_statement name: (dotted_name . (identifier) @bind))"
        "(import_statement name: (aliased_import alias: (identifier) @bind))"
        "(attribute object: (identifier) @obj attribute: (identifier) @attr)"
    ),
    "javascript": _TS_COMMON,
    "typescript": _TS_COMMON + "(type_identifier) @use",
    "tsx": _TS_COMMON + "(type_identifier) @use",
    "go": (
        "(qualified_type package: (package_identifier) name: (type_identifier) @use)"
        "(selector_expression operand: (identifier) field: (field_identifier) @use)"
        "(type_identifier) @use"
        "(call_expression function: (identifier) @use)"
        "(package_clause (package_identifier) @pkg)"
    ),
    "rust": (
        "(type_identifier) @use"
        "(scoped_identifier name: (identifier) @use)"
        "(use_list (identifier) @use)"
        "(call_expression function: (identifier) @use)"
    ),
    "c": "(type_identifier) @use (call_expression function: (identifier) @use)",
    "cpp": (
        "(type_identifier) @use (call_expression function: (identifier) @use)"
        "(qualified_identifier name: (identifier) @use)"
    ),
}

_lock = threading.Lock()
_queries: dict[tuple[str, str], Query | None] = {}


def compiled_once(
    purpose: str, language: str, text_of: Callable[[], str | None], *, expected: bool = True
) -> Query | None:
    """The query ``text_of()`` for ``language``, compiled once per process and ``purpose``; None
    where there is no text, no grammar, or it does not compile (a grammar of another version:
    names are optional), logged as an error where it was ``expected`` to."""
    key = (purpose, language)
    with _lock:
        if key in _queries:
            return _queries[key]
        query: Query | None = None
        lang = get_language(language)
        text = None if lang is None else text_of()
        if lang is not None and text is not None:
            try:
                from tree_sitter import Query

                query = Query(lang, text)
            except Exception:
                (logger.exception if expected else logger.debug)(
                    "the %s query for %s does not compile", purpose, language, exc_info=True
                )
        _queries[key] = query
        return query


def _query(language: str) -> Query | None:
    return compiled_once("names", language, lambda: QUERIES.get(language))


def _count(out: dict[bytes, int], name: bytes) -> None:
    if name:
        out[name] = out.get(name, 0) + 1


def _decoded(counts: dict[bytes, int]) -> dict[str, int]:
    """Counts by name as text, in the order each name first occurs (decoded once a name)."""
    out: dict[str, int] = {}
    for raw, n in counts.items():
        name = utf_16_le_decode(raw, "replace", True)[0]
        out[name] = out.get(name, 0) + n
    return out


def _clean_subtrees(root: Node) -> list[Node]:
    """The root, or for a tree with errors its largest error-free subtrees near the top."""
    if not root.has_error:
        return [root]
    out: list[Node] = []
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if not node.has_error:
            out.append(node)
        elif depth < ERROR_DEPTH and not node.is_error:
            stack.extend((c, depth + 1) for c in reversed(node.children))
        if len(out) + len(stack) > MAX_SUBTREES:
            return []
    return out


def names(language: str, tree: Tree, src: Source) -> dict[str, Any]:
    """The package a file declares and the names it uses, with how often (see the module doc)."""
    query = _query(language)
    if query is None:
        return {"package": None, "uses": {}}
    from tree_sitter import QueryCursor

    cursor = QueryCursor(query, match_limit=MATCH_LIMIT)
    roots = _clean_subtrees(tree.root_node)
    if language in PAIRED:
        return _paired(m for root in roots for _, m in cursor.matches(root))(src)
    return _captured(language, (cursor.captures(root) for root in roots), src)


#: Languages whose names come from matches (imported names, ``module.attr`` pairs).
PAIRED = frozenset({"python", "javascript", "typescript", "tsx"})


def _paired(matches: Iterable[dict[str, list[Node]]]) -> Callable[[Source], dict[str, Any]]:
    """Names of a language in PAIRED from its query's matches (a function of the source, so
    the matches may be gathered by another pass over the same tree: see graph_fields.py)."""

    def result(src: Source) -> dict[str, Any]:
        data = src.data
        # Names are counted by their UTF-16 bytes (slicing is cheaper than decoding every
        # occurrence) and decoded once each at the end. Node offsets are even: whole code units.
        counts: dict[bytes, int] = {}
        bound: set[bytes] = set()
        pairs: list[tuple[Node, Node]] = []
        for match in matches:
            for node in match.get("use", ()):
                raw = data[node.start_byte : node.end_byte]
                _count(counts, raw)
                bound.add(raw)  # an imported name may be a module: its attributes count too
            for node in match.get("bind", ()):
                bound.add(data[node.start_byte : node.end_byte])
            obj, attr = match.get("obj"), match.get("attr")
            if obj and attr:
                pairs.append((obj[0], attr[0]))
        for obj_node, attr_node in pairs:  # module.attr, for modules bound by an import
            if data[obj_node.start_byte : obj_node.end_byte] in bound:
                _count(counts, data[attr_node.start_byte : attr_node.end_byte])
        return {"package": None, "uses": _capped(counts)}

    return result


def _captured(language: str, captures: Iterable[dict[str, list[Node]]], src: Source) -> dict[str, Any]:
    """Names of a language outside PAIRED from its query's captures (one dict per subtree)."""
    data, text = src.data, src.text
    counts: dict[bytes, int] = {}
    package: str | None = None
    for caps in captures:
        for node in caps.get("use", ()):
            _count(counts, data[node.start_byte : node.end_byte])
        for node in caps.get("cap", ()):  # receivers: only type-like (capitalised) ones
            raw = data[node.start_byte : node.end_byte]
            if utf_16_le_decode(raw[:4], "replace", True)[0][:1].isupper():
                _count(counts, raw)
        pkg = caps.get("pkg")
        if pkg and package is None:
            package = "".join(text(pkg[0]).split())
    return {"package": package, "uses": _capped(counts)}


def _capped(counts: dict[bytes, int]) -> dict[str, int]:
    uses = _decoded(counts)
    if len(uses) > MAX_NAMES:
        uses = dict(sorted(uses.items(), key=lambda kv: -kv[1])[:MAX_NAMES])
    return uses
