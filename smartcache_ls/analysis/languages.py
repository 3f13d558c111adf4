"""Which language a file is, and the tree-sitter machinery for it.

Nothing here imports ``tree_sitter`` at module import time: grammars are loaded on
first use, and parsers are cached per thread
(``threading.local``), because a ``tree_sitter.Parser`` must not be shared between
threads that parse at the same time.

Texts are parsed as UTF-16LE, so every column tree-sitter reports is a count of
UTF-16 code units times two, which is what LSP positions want.
"""

from __future__ import annotations

import importlib
import logging
import posixpath
import threading
import time
from typing import TYPE_CHECKING

from .chunks import ChunkReader

if TYPE_CHECKING:
    from tree_sitter import Language, Parser, Tree

logger = logging.getLogger(__name__)

#: Parsing stops (and the file gets metrics only) once it has taken this long: a base plus
#: an allowance per MB of text. Error recovery on some garbage inputs is pathologically slow.
PARSE_BUDGET_SECONDS = 0.5
PARSE_BUDGET_SECONDS_PER_MB = 5.0

#: Suffix (lower case) -> language name.
EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cp": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".inl": "cpp",
    ".tpp": "cpp",
}

#: Language name -> (module of the grammar wheel, function returning the language pointer).
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

_lock = threading.Lock()
_languages: dict[str, Language | None] = {}
_local = threading.local()


def language_for(path: str) -> str | None:
    """The language of a file, by its extension; None when it has no grammar here."""
    name = posixpath.basename(path.replace("\\", "/"))
    _, ext = posixpath.splitext(name)
    if ext == ".C":  # the C++ convention for upper-case .C
        return "cpp"
    return EXTENSIONS.get(ext.lower())


def get_language(name: str) -> Language | None:
    """The tree-sitter Language for a language name (loaded once per process), or None."""
    with _lock:
        if name in _languages:
            return _languages[name]
        lang: Language | None = None
        spec = GRAMMARS.get(name)
        if spec is not None:
            try:
                from tree_sitter import Language

                module = importlib.import_module(spec[0])
                lang = Language(getattr(module, spec[1])())
            except Exception:  # a missing or incompatible grammar wheel
                logger.exception("cannot load the tree-sitter grammar for %s", name)
                lang = None
        _languages[name] = lang
        return lang


def _thread_cache() -> dict[tuple[str, str], object]:
    cache: dict[tuple[str, str], object] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = {}
        _local.cache = cache
    return cache


def get_parser(name: str) -> Parser | None:
    """This thread's parser for a language, created on first use."""
    cache = _thread_cache()
    key = ("parser", name)
    parser = cache.get(key)
    if parser is None:
        lang = get_language(name)
        if lang is None:
            return None
        from tree_sitter import Parser

        parser = Parser(lang)
        cache[key] = parser
    return parser  # type: ignore[return-value]


def parse(name: str, data: bytes, budget: float | None = None) -> Tree | None:
    """Parse UTF-16LE ``data``; None when there is no grammar or the time budget ran out.

    The tree is parsed from a read callback (the only form that takes a progress
    callback, hence a time budget), so it keeps no source: never use ``Node.text`` or
    text predicates such as ``#eq?`` on it (py-tree-sitter 0.26 crashes); slice
    ``data`` by byte offsets instead (:class:`.source.Source`).
    """
    parser = get_parser(name)
    if parser is None:
        return None
    if budget is None:
        limit = PARSE_BUDGET_SECONDS + PARSE_BUDGET_SECONDS_PER_MB * len(data) / 2_000_000
    else:
        limit = budget
    deadline = time.monotonic() + limit
    reader = ChunkReader(data)  # py-tree-sitter keeps what a read callback returns: see chunks.py

    def too_long(_offset: int, _has_error: bool) -> bool:
        return time.monotonic() > deadline

    try:
        return parser.parse(reader.read, encoding="utf16le", progress_callback=too_long)
    except ValueError:
        # Cancelled: a halted parser would resume this parse on its next call.
        parser.reset()
        logger.warning("parsing a %s file of %d bytes took over %.1fs", name, len(data) // 2, limit)
        return None
    finally:
        reader.close()
