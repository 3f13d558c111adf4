"""Parsing leaves nothing behind: py-tree-sitter keeps what a read callback returns (chunks.py)."""

from __future__ import annotations

import gc
import tracemalloc

from smartcache_ls.analysis import analyze
from smartcache_ls.analysis.chunks import ChunkReader
from smartcache_ls.analysis.languages import parse
from smartcache_ls.analysis.source import Source


def _allocated_after(runs: int, text_of: object) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(runs):
            text_of(i)  # type: ignore[operator]
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_parsing_keeps_neither_the_text_nor_the_chunks() -> None:
    def one(i: int) -> None:
        data = Source(f"def f{i}(x):\n    return x\n" * 400).data  # ~20 KB of UTF-16
        tree = parse("python", data)
        assert tree is not None and tree.root_node.child_count == 400

    parse("python", Source("x = 1\n").data)  # the grammar and this thread's parser, once
    leaked = _allocated_after(200, one)
    # without the reader's close(): ~22 KB per parse (every text pinned by its chunks)
    assert leaked < 200 * 64, f"{leaked / 200:.0f} bytes left per parse"


def test_analysis_of_many_files_keeps_nothing() -> None:
    analyze("warm.py", "import os\n")
    leaked = _allocated_after(
        100, lambda i: analyze(f"m{i}.py", f"class C{i}:\n    def run(self):\n        return {i}\n" * 100)
    )
    assert leaked < 100 * 256, f"{leaked / 100:.0f} bytes left per analysis"


def test_reader_serves_the_text_and_an_empty_end() -> None:
    reader = ChunkReader(b"abcdef")
    assert bytes(reader.read(2, None)) == b"cdef"
    assert reader.read(6, None) == b""
    reader.close()
