"""analyze(): one file's language, size, hash, outline, imports and line metrics."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from ..content import content_hash
from .imports import extract_imports
from .languages import language_for, parse
from .metrics import CommentSyntax, comment_syntax, count_lines, metrics_from_spans, text_metrics
from .one_pass import names_and_scan
from .outline import outline
from .source import Source
from .symbol_rules import RULES

if TYPE_CHECKING:
    from tree_sitter import Tree

logger = logging.getLogger(__name__)

# Comment syntax by language, for files whose parse failed.
_FALLBACK_SYNTAX: dict[str, CommentSyntax] = {
    "python": CommentSyntax(line=("#",)),
    **dict.fromkeys(
        ("javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp"),
        CommentSyntax(line=("//",), block=(("/*", "*/"),)),
    ),
}


# C++-only constructs at the start of a line, or a scope operator: a .h file showing them is C++.
_CPP_MARKERS = re.compile(
    r"^[ \t]*(?:namespace\b|class\s+\w+\s*[:{;]|template\s*<|using\s+namespace\b|"
    r"(?:public|private|protected)\s*:)|\b\w+::\w+",
    re.MULTILINE,
)


def utf8_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def analyze(path: str, text: str) -> dict[str, Any]:
    """Analyse one file. Never raises; the result is JSON-able and a function of its inputs.

    Returns ``{"language", "lines", "bytes", "hash", "symbols", "imports", "metrics"}``
    (see the package doc). Files without a grammar, or whose parse fails, get metrics only.
    A ``.h`` file that shows C++ constructs (namespaces, classes, templates, ``::``), or
    that is not valid C but is valid C++, is analysed and reported as "cpp".
    """
    language = language_for(path)
    result: dict[str, Any] = {
        "language": language,
        "lines": count_lines(text),
        "bytes": utf8_length(text),
        "hash": content_hash(text),
        "symbols": [],
        "imports": [],
        "metrics": {},
        "names": {"package": None, "uses": {}},
    }
    extra = {"maxDepth": 0, "syntaxError": False, "truncated": False}
    try:
        if language is not None:
            parsed = _analyze_tree(path, language, text)
            if parsed is not None:
                result.update(parsed)
                return result
        result["metrics"] = {**text_metrics(path, text, _syntax(path, language)), **extra}
    except Exception:  # analysis must never fail a request: degrade to metrics only
        logger.exception("analysis of %s failed", path)
        result["symbols"], result["imports"] = [], []
        result["names"] = {"package": None, "uses": {}}
        try:
            result["metrics"] = {**text_metrics(path, text), **extra}
        except Exception:
            lines = result["lines"]
            result["metrics"] = {"lines": lines, "blank": 0, "comment": 0, "code": lines, **extra}
    return result


def _syntax(path: str, language: str | None) -> CommentSyntax:
    if language is not None and language in _FALLBACK_SYNTAX:
        return _FALLBACK_SYNTAX[language]
    return comment_syntax(path)


def parsed(path: str, language: str, text: str) -> tuple[str, Tree, Source] | None:
    """The language a file is analysed as, its tree and its source; None when the parse failed
    (no grammar, or over its time budget)."""
    src = Source(text)
    header = language == "c" and path.lower().endswith(".h")
    if header and _CPP_MARKERS.search(text, 0, 200_000):
        language = "cpp"  # many C++ projects name their headers .h
    tree = parse(language, src.data)
    if tree is None:
        return None
    if header and language == "c" and tree.root_node.has_error:
        cpp = parse("cpp", src.data)
        if cpp is not None and not cpp.root_node.has_error:
            language, tree = "cpp", cpp
    return language, tree, src


def _analyze_tree(path: str, language: str, text: str) -> dict[str, Any] | None:
    done = parsed(path, language, text)
    if done is None:
        return None
    language, tree, src = done
    shape = outline(tree, src, RULES[language])
    used, found = names_and_scan(language, tree, src, comments=True)
    return {
        "language": language,
        "symbols": shape.symbols,
        "imports": extract_imports(language, found.sites, src),
        "names": used,
        "metrics": {
            **metrics_from_spans(text, src, found.comments),
            "maxDepth": shape.max_depth,
            "syntaxError": tree.root_node.has_error,
            "truncated": shape.truncated,
        },
    }
