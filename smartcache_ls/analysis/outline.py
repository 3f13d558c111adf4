"""The symbol outline of a syntax tree: a language-independent, iterative walker.

Per-language knowledge lives in :mod:`.symbol_rules`; a rule looks at one node and
says which symbols it declares (and where their children are), or that it declares
none. The walker descends into a rule's container node types and into ERROR nodes
(error recovery often wraps good declarations). It never recurses in Python, caps
the nesting depth of the symbols it emits (deeper ones are dropped; JSON encoders
recurse) and the number of symbols, so any input is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .source import Source, lsp_range

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

#: Symbols nested deeper than this are not emitted.
MAX_SYMBOL_DEPTH = 32
#: At most this many symbols per file.
MAX_SYMBOLS = 10_000


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a node sits: kind is "module", "class", "function", "enum", ... name its symbol."""

    kind: str
    name: str = ""


MODULE = Scope("module")


@dataclass(slots=True)
class Found:
    """A symbol a rule found: its range is that of ``node``; children are looked for among
    the named children of ``body`` (None: no children) in ``scope``."""

    name: str
    kind: str
    node: Node
    body: Node | None = None
    scope: Scope = field(default=MODULE)


#: A rule: (node, scope, source) -> symbols declared by the node, or None when the node
#: declares nothing (the walker then descends into it if its type is a container).
Rule = Callable[["Node", Scope, Source], "list[Found] | None"]


@dataclass(frozen=True, slots=True)
class Rules:
    rule: Rule
    containers: frozenset[str]


@dataclass(slots=True)
class Outline:
    symbols: list[dict[str, Any]]
    max_depth: int
    truncated: bool


def outline(tree: Tree, src: Source, rules: Rules, types: frozenset[str] | None = None) -> Outline:
    """Walk the tree in document order and build the nested symbol list.

    With ``types``, only what the symbol table reads (index/symbols.py ``definitions``): the
    top-level symbols and, under a symbol of a kind in ``types``, the symbols of those kinds
    (no function body is walked). The same symbols as the whole outline's as long as it is not
    cut at MAX_SYMBOLS, which the caller checks (a tree of fewer nodes cannot reach it).
    """
    top: list[dict[str, Any]] = []
    # Stack of (node, scope, list its symbols go to, depth of that list).
    stack: list[tuple[Node, Scope, list[dict[str, Any]], int]] = [
        (child, MODULE, top, 0) for child in reversed(tree.root_node.named_children)
    ]
    count = 0
    max_depth = 0
    truncated = False
    rule, containers = rules.rule, rules.containers
    while stack:
        node, scope, out, depth = stack.pop()
        found = rule(node, scope, src)
        if found is None:
            if node.type in containers or node.is_error:
                stack.extend((c, scope, out, depth) for c in reversed(node.named_children))
            continue
        bodies: list[tuple[Found, list[dict[str, Any]]]] = []
        for item in found:
            if not item.name:
                continue
            if count >= MAX_SYMBOLS:
                truncated = True
                break
            if depth >= MAX_SYMBOL_DEPTH:
                truncated = True
                continue
            nested = types is None or item.kind in types
            if depth and not nested:
                continue
            children: list[dict[str, Any]] = []
            out.append(
                {"name": item.name, "kind": item.kind, "range": lsp_range(item.node), "children": children}
            )
            count += 1
            max_depth = max(max_depth, depth + 1)
            if item.body is not None and nested:
                bodies.append((item, children))
        for item, children in reversed(bodies):
            assert item.body is not None
            stack.extend((c, item.scope, children, depth + 1) for c in reversed(item.body.named_children))
        if count >= MAX_SYMBOLS and truncated:
            break
    return Outline(top, max_depth, truncated)
