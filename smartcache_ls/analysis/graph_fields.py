"""What the reference graph reads of a file, without the rest of its analysis.

``graph_fields(path, text, types)`` gives the ``hash``, ``imports`` and ``names`` of
:func:`.analyze` and the part of its ``symbols`` that the symbol table reads (the top-level
symbols and, under a symbol of a kind in ``types``, the symbols of those kinds: see
:func:`.outline.outline`), equal to analyze()'s. It leaves out the metrics (their comment
scan is a whole query pass), the outline's function bodies and the analysis' encoding, and
on a tree without errors it finds the names and the import sites in one query pass, where
analyze() runs two (a query's walk of the tree costs about as much as what it captures).
tests/index/test_index_job.py checks the entries it makes against analyze()'s on real files.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..content import content_hash
from .analyzer import parsed
from .imports import extract_imports
from .languages import language_for
from .names import MATCH_LIMIT, PAIRED, QUERIES, _paired, compiled_once, names
from .outline import MAX_SYMBOLS, outline
from .scan import SPECS, scan
from .symbol_rules import RULES

if TYPE_CHECKING:
    from tree_sitter import Node, Query, Tree

    from .source import Source

logger = logging.getLogger(__name__)


def _query(language: str) -> Query | None:
    """The names query of ``language`` with its import sites captured too (once per process;
    None where it does not compile: the two passes serve it)."""

    def text() -> str | None:
        names_text = QUERIES.get(language)
        if names_text is None:
            return None
        sites = " ".join(f"({t})" for t in sorted(SPECS[language].sites))
        return f"{names_text}[{sites}] @site"

    return compiled_once("names and import sites", language, text, expected=False)


def _one_pass(language: str, tree: Tree, src: Source) -> tuple[dict[str, Any], list[Node]] | None:
    """(names, import sites in document order) from one query pass, for a language whose names
    come from matches (PAIRED); None for the others (their names come from captures, whose
    order another pattern in the query changes: the order is the graph's) and for a tree with
    errors (names() and scan() treat those their own ways)."""
    root = tree.root_node
    if language not in PAIRED or root.has_error:
        return None
    query = _query(language)
    if query is None:
        return None
    from tree_sitter import QueryCursor

    matches = [m for _, m in QueryCursor(query, match_limit=MATCH_LIMIT).matches(root)]
    sites = [n for m in matches for n in m.get("site", ())]
    sites.sort(key=lambda n: (n.start_byte, -n.end_byte))  # document order, outer first (as scan)
    return _paired(matches)(src), sites


def graph_fields(path: str, text: str, types: frozenset[str]) -> dict[str, Any]:
    """``{"hash", "symbols", "imports", "names"}`` of ``text`` as analyze() would give them
    (``symbols``: the part described above). Never raises."""
    result: dict[str, Any] = {
        "hash": content_hash(text),
        "symbols": [],
        "imports": [],
        "names": {"package": None, "uses": {}},
    }
    language = language_for(path)
    if language is None:
        return result
    try:
        done = parsed(path, language, text)
        if done is None:
            return result
        language, tree, src = done
        # (a tree of fewer nodes than MAX_SYMBOLS cannot hold that many symbols: the whole
        # outline is not cut, and the part of it equals what the symbol table reads of it)
        lean = tree.root_node.descendant_count < MAX_SYMBOLS
        symbols = outline(tree, src, RULES[language], types if lean else None).symbols
        one = _one_pass(language, tree, src)
        if one is None:
            found, sites = names(language, tree, src), scan(tree, SPECS[language], language).sites
        else:
            found, sites = one
        imports = extract_imports(language, sites, src)
    except Exception:  # as analyze(): a file whose analysis fails has no symbols, imports, names
        logger.exception("analysis of %s failed", path)
        return result
    result.update(symbols=symbols, imports=imports, names=found)
    return result
