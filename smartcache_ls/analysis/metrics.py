"""Line metrics of any text: lines, blank, comment and code lines.

Lines are split on "\\n" (a "\\r\\n" ending is one line end); a trailing line end does
not start another line, so "a\\nb\\n" and "a\\nb" both have 2 lines and "" has 0.
A line is blank when it holds only whitespace, a comment line when everything on it
other than whitespace is comment, and code otherwise: lines == blank + comment + code.

For parsed files the comments come from the syntax tree (exact: a "#" in a string is
not a comment). Other files use the comment syntax their extension suggests.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .source import Source


@dataclass(frozen=True, slots=True)
class CommentSyntax:
    line: tuple[str, ...] = ()
    block: tuple[tuple[str, str], ...] = ()


_HASH = CommentSyntax(line=("#",))
_SLASH = CommentSyntax(line=("//",), block=(("/*", "*/"),))
_DASH = CommentSyntax(line=("--",))
_SEMI = CommentSyntax(line=(";",))
_PERCENT = CommentSyntax(line=("%",))
_MARKUP = CommentSyntax(block=(("<!--", "-->"),))
_CSS = CommentSyntax(block=(("/*", "*/"),))

_BY_EXTENSION: dict[str, CommentSyntax] = {
    **dict.fromkeys(
        (
            ".sh",
            ".bash",
            ".zsh",
            ".fish",
            ".rb",
            ".pl",
            ".pm",
            ".r",
            ".yaml",
            ".yml",
            ".toml",
            ".cfg",
            ".conf",
            ".properties",
            ".mk",
            ".cmake",
            ".dockerfile",
            ".ps1",
            ".tf",
            ".nim",
            ".jl",
            ".ex",
            ".exs",
            ".coffee",
            ".gitignore",
            ".env",
            ".py",
            ".pyi",
            ".pyw",
            ".awk",
            ".tcl",
            ".gd",
            ".nix",
        ),
        _HASH,
    ),
    **dict.fromkeys(
        (
            ".js",
            ".mjs",
            ".cjs",
            ".jsx",
            ".ts",
            ".mts",
            ".cts",
            ".tsx",
            ".go",
            ".rs",
            ".java",
            ".c",
            ".h",
            ".cc",
            ".cpp",
            ".cxx",
            ".hh",
            ".hpp",
            ".hxx",
            ".kt",
            ".kts",
            ".swift",
            ".scala",
            ".cs",
            ".php",
            ".dart",
            ".sol",
            ".groovy",
            ".gradle",
            ".proto",
            ".zig",
            ".v",
            ".sv",
            ".json5",
            ".jsonc",
            ".scss",
            ".less",
            ".m",
            ".mm",
        ),
        _SLASH,
    ),
    **dict.fromkeys((".sql", ".lua", ".hs", ".elm", ".ada", ".adb", ".ads"), _DASH),
    **dict.fromkeys((".ini", ".lisp", ".clj", ".cljs", ".el", ".scm", ".asm", ".s"), _SEMI),
    **dict.fromkeys((".tex", ".sty", ".cls", ".erl", ".hrl"), _PERCENT),
    **dict.fromkeys((".html", ".htm", ".xml", ".svg", ".vue", ".svelte", ".md", ".xhtml"), _MARKUP),
    ".css": _CSS,
}
_BY_NAME: dict[str, CommentSyntax] = {
    "makefile": _HASH,
    "gnumakefile": _HASH,
    "dockerfile": _HASH,
    "cmakelists.txt": _HASH,
    "gemfile": _HASH,
    "rakefile": _HASH,
    "procfile": _HASH,
    ".gitignore": _HASH,
    ".dockerignore": _HASH,
    ".gitattributes": _HASH,
    ".editorconfig": _HASH,
    ".bashrc": _HASH,
    ".zshrc": _HASH,
    ".profile": _HASH,
}
_NONE = CommentSyntax()


def comment_syntax(path: str) -> CommentSyntax:
    """The comment syntax a file name suggests (no comments for unknown kinds)."""
    name = posixpath.basename(path.replace("\\", "/")).lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    return _BY_EXTENSION.get(posixpath.splitext(name)[1], _NONE)


def split_lines(text: str) -> list[str]:
    """The lines of a text (see the module doc for what counts as a line)."""
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def count_lines(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _summary(lines: Sequence[str], comment_lines: Iterable[bool]) -> dict[str, int]:
    blank = comment = 0
    for line, is_comment in zip(lines, comment_lines, strict=True):
        if not line.strip():
            blank += 1
        elif is_comment:
            comment += 1
    return {"lines": len(lines), "blank": blank, "comment": comment, "code": len(lines) - blank - comment}


def metrics_from_spans(text: str, src: Source, spans: Iterable[tuple[int, int]]) -> dict[str, int]:
    """Metrics of a parsed text, given the UTF-16 byte spans of its comments.

    The text is masked in its UTF-16 form (each comment becomes spaces, its line ends
    kept so lines keep their numbers) and decoded once; a line is a comment line when
    it is blank masked and not blank as written. Masking only blanks characters, so
    the comment lines are the masked text's blank lines less the text's own.
    """
    lines = count_lines(text)
    blank = blank_lines(text)
    data = src.data
    pieces: list[bytes] = []
    pos = 0
    data_len = len(data)
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, data_len)
        if end <= start:
            continue
        start, end = start - (start & 1), end - (end & 1)  # whole UTF-16 code units
        pieces.append(data[pos:start])
        pieces.append(_blanked(data[start:end]))
        pos = max(pos, end)
    comment = 0
    if pieces:
        pieces.append(data[pos - (pos & 1) :])
        masked = b"".join(pieces).decode("utf-16-le", "replace")
        if count_lines(masked) == lines:  # cannot differ with \n kept; stay safe anyway
            comment = blank_lines(masked) - blank
    return {"lines": lines, "blank": blank, "comment": comment, "code": lines - blank - comment}


# A blank line (only whitespace, str.isspace(), as str.strip() strips it): the first line,
# or a line end and the line after it. The search for the "\n" prefix runs at C speed, where
# a "^" anchor with re.MULTILINE was tried at every character (blank_lines 0.28 -> 0.22 CPU s
# over the 3,000 bench/cold_analysis.py files).
_BLANK_FIRST = re.compile(r"[^\S\n]*(?:\n|\Z)")
_BLANK_AFTER = re.compile(r"\n[^\S\n]*(?=\n|\Z)")


def blank_lines(text: str) -> int:
    """How many of the text's lines (see the module doc) are blank, counted in C."""
    if not text:
        return 0
    found = len(_BLANK_AFTER.findall(text)) + (1 if _BLANK_FIRST.match(text) else 0)
    return found - 1 if text.endswith("\n") else found  # (the end after a last line end)


_NEWLINE16 = "\n".encode("utf-16-le")
_SPACE16 = " ".encode("utf-16-le")


def _blanked(chunk: bytes) -> bytes:
    """A UTF-16LE chunk with everything but its line ends turned into spaces."""
    if _NEWLINE16 not in chunk:
        return _SPACE16 * (len(chunk) // 2)
    parts = chunk.decode("utf-16-le", "replace").split("\n")
    return "\n".join(" " * len(part) for part in parts).encode("utf-16-le")


def text_metrics(path: str, text: str, syntax: CommentSyntax | None = None) -> dict[str, int]:
    """Metrics of any text, finding comments by the comment syntax of its file kind."""
    lines = split_lines(text)
    syntax = comment_syntax(path) if syntax is None else syntax
    if not syntax.line and not syntax.block:
        return _summary(lines, [False] * len(lines))
    return _summary(lines, _heuristic_comments(lines, syntax))


def _heuristic_comments(lines: Sequence[str], syntax: CommentSyntax) -> list[bool]:
    out: list[bool] = []
    closing: str | None = None  # the end marker of the block comment we are in
    for raw in lines:
        rest = raw.strip()
        is_comment = True
        while rest:
            if closing is not None:
                idx = rest.find(closing)
                if idx < 0:
                    rest = ""
                    break
                rest = rest[idx + len(closing) :].strip()
                closing = None
                continue
            if rest.startswith(syntax.line):
                rest = ""
                break
            opened = next((b for b in syntax.block if rest.startswith(b[0])), None)
            if opened is not None:
                closing = opened[1]
                rest = rest[len(opened[0]) :]
                continue
            # Code on this line; a block comment may still open later on it.
            is_comment = False
            starts = [(rest.find(b[0]), b) for b in syntax.block if b[0] in rest]
            if starts:
                idx, (open_, close) = min(starts)
                tail = rest[idx + len(open_) :]
                closing = None if close in tail else close
            break
        out.append(is_comment)
    return out
