"""One linear pass over every node of a tree, collecting comments and import sites.

A ``TreeCursor`` walk, not a tree-sitter query: queries are quadratic on some error
trees (a few hundred thousand "(" take minutes) and cannot be cancelled safely, while
this walk is linear, iterative and about as fast as a query on ordinary code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node, Tree


@dataclass(frozen=True, slots=True)
class ScanSpec:
    comments: frozenset[str]  # comment node types (leaves for our purpose)
    sites: frozenset[str]  # node types that are (or may be) import sites; their insides are
    # walked too, for the comments written inside an import


@dataclass(slots=True)
class ScanResult:
    comments: list[tuple[int, int]] = field(default_factory=list)  # byte spans
    sites: list[Node] = field(default_factory=list)  # in document order


_COMMENT = frozenset({"comment"})
_LINE_BLOCK = frozenset({"line_comment", "block_comment"})
_JS = ScanSpec(_COMMENT, frozenset({"import_statement", "export_statement", "call_expression"}))

SPECS: dict[str, ScanSpec] = {
    # (a __future__ import is a node type of its own, so it is not a site)
    "python": ScanSpec(_COMMENT, frozenset({"import_statement", "import_from_statement"})),
    "javascript": _JS,
    "typescript": _JS,
    "tsx": _JS,
    "go": ScanSpec(_COMMENT, frozenset({"import_declaration"})),
    "rust": ScanSpec(_LINE_BLOCK, frozenset({"use_declaration", "mod_item"})),
    "java": ScanSpec(_LINE_BLOCK, frozenset({"import_declaration"})),
    "c": ScanSpec(_COMMENT, frozenset({"preproc_include"})),
    "cpp": ScanSpec(_COMMENT, frozenset({"preproc_include"})),
}


def scan(tree: Tree, spec: ScanSpec) -> ScanResult:
    result = ScanResult()
    comments, sites = spec.comments, spec.sites
    cursor = tree.walk()
    while True:
        node = cursor.node
        if node is None:
            break
        kind = node.type
        if kind in comments:
            result.comments.append((node.start_byte, node.end_byte))
        else:
            if kind in sites:
                result.sites.append(node)
            if cursor.goto_first_child():
                continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return result
    return result
