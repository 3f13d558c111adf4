"""What the reference graph reads of a file, without the rest of its analysis.

``graph_fields(path, text, types)`` gives the ``hash``, ``imports`` and ``names`` of
:func:`.analyze` and the part of its ``symbols`` that the symbol table reads (the top-level
symbols and, under a symbol of a kind in ``types``, the symbols of those kinds: see
:func:`.outline.outline`), equal to analyze()'s. It leaves out the metrics, the outline's
function bodies and the analysis' encoding; its one query pass (analysis/one_pass.py)
matches no comments.
tests/index/test_index_job.py checks the entries it makes against analyze()'s on real files.
"""

from __future__ import annotations

import logging
from typing import Any

from ..content import content_hash
from .analyzer import parsed
from .imports import extract_imports
from .languages import language_for
from .one_pass import names_and_scan
from .outline import MAX_SYMBOLS, outline
from .symbol_rules import RULES

logger = logging.getLogger(__name__)


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
        found, scanned = names_and_scan(language, tree, src, comments=False)
        imports = extract_imports(language, scanned.sites, src)
    except Exception:  # as analyze(): a file whose analysis fails has no symbols, imports, names
        logger.exception("analysis of %s failed", path)
        return result
    result.update(symbols=symbols, imports=imports, names=found)
    return result
