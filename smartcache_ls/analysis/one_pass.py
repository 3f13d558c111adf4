"""Names, import sites and (optionally) comments of a tree from one query pass.

A query's walk of the tree costs about as much as what it captures, so where the names
come from matches (PAIRED languages) the names query, the import sites and the comment
nodes are matched together: one walk, where ``names()`` and ``scan()`` take one each.
Trees with errors are left to those two (they treat errors their own ways), and so are the
other languages: their names come from captures, whose order another pattern in the same
query changes (the order is the graph's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .names import MATCH_LIMIT, PAIRED, QUERIES, _paired, compiled_once, names
from .scan import SPECS, ScanResult, scan

if TYPE_CHECKING:
    from tree_sitter import Query, Tree

    from .source import Source


def _query(language: str, comments: bool) -> Query | None:
    """The names query of ``language`` with its import sites (and comments) captured too, once
    per process; None where it does not compile (the separate passes serve it)."""

    def text() -> str | None:
        names_text = QUERIES.get(language)
        if names_text is None:
            return None
        spec = SPECS[language]
        out = names_text + "[" + " ".join(f"({t})" for t in sorted(spec.sites)) + "] @site"
        if comments:
            out += "[" + " ".join(f"({t})" for t in sorted(spec.comments)) + "] @comment"
        return out

    purpose = "names, import sites and comments" if comments else "names and import sites"
    return compiled_once(purpose, language, text, expected=False)


def one_pass(
    language: str, tree: Tree, src: Source, *, comments: bool
) -> tuple[dict[str, Any], ScanResult] | None:
    """(names, the scan: import sites in document order, outer first, and with ``comments``
    the comments' byte spans) of a PAIRED language's tree without errors; else None."""
    root = tree.root_node
    if language not in PAIRED or root.has_error:
        return None
    query = _query(language, comments)
    if query is None:
        return None
    from tree_sitter import QueryCursor

    matches = [m for _, m in QueryCursor(query, match_limit=MATCH_LIMIT).matches(root)]
    sites = [n for m in matches for n in m.get("site", ())]
    sites.sort(key=lambda n: (n.start_byte, -n.end_byte))  # document order, outer first (as scan)
    spans = [(n.start_byte, n.end_byte) for m in matches for n in m.get("comment", ())] if comments else []
    return _paired(matches)(src), ScanResult(spans, sites)


def names_and_scan(
    language: str, tree: Tree, src: Source, *, comments: bool
) -> tuple[dict[str, Any], ScanResult]:
    """:func:`one_pass`, or where it declines the two passes of ``names()`` and ``scan()`` (whose
    scan holds the comments whatever ``comments`` says)."""
    one = one_pass(language, tree, src, comments=comments)
    if one is not None:
        return one
    return names(language, tree, src), scan(tree, SPECS[language], language)
