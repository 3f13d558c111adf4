"""A text as tree-sitter sees it (UTF-16LE bytes), with node text and LSP ranges."""

from __future__ import annotations

import re
from codecs import utf_16_le_decode
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tree_sitter import Node

#: Names longer than this are cut (a name is for display, not a copy of the code).
MAX_NAME = 200

_SURROGATE = re.compile("[\ud800-\udfff]")


class Source:
    """The UTF-16LE encoding of a text; columns of its nodes are UTF-16 code units * 2.

    Surrogate code points (which a str may hold, unpaired) become U+FFFD, one code unit
    like them, so offsets are unchanged: tree-sitter can take minutes on invalid UTF-16.
    """

    __slots__ = ("data",)

    def __init__(self, text: str) -> None:
        try:
            self.data = text.encode("utf-16-le")
        except UnicodeEncodeError:
            self.data = _SURROGATE.sub("\ufffd", text).encode("utf-16-le")

    def slice(self, start: int, end: int) -> str:
        # the codec function itself: bytes.decode("utf-16-le") runs a Python-level wrapper
        return utf_16_le_decode(self.data[start - (start & 1) : end - (end & 1)], "replace", True)[0]

    def text(self, node: Node | None) -> str:
        """The text of a node ('' for None)."""
        if node is None:
            return ""
        return self.slice(node.start_byte, node.end_byte)

    def name(self, node: Node | None) -> str:
        """A node's text as a one-line display name (whitespace collapsed, length capped)."""
        if node is None:
            return ""
        end = min(node.end_byte, node.start_byte + 8 * MAX_NAME)
        return " ".join(self.slice(node.start_byte, end).split())[:MAX_NAME]


def lsp_range(node: Node) -> dict[str, Any]:
    """The LSP range of a node: 0-based lines, characters in UTF-16 code units."""
    start, end = node.start_point, node.end_point
    return {
        "start": {"line": start[0], "character": start[1] // 2},
        "end": {"line": end[0], "character": end[1] // 2},
    }
