"""The background index builder: queued files are read once each, oldest first, per owner."""

from __future__ import annotations

from collections.abc import Hashable

from smartcache_ls.index.builder import UNCHANGED, IndexBuilder
from smartcache_ls.index.graph import FileEntry


def test_queued_files_are_read_once_in_order_and_dropped_with_their_owner() -> None:
    read: list[tuple[Hashable, str]] = []

    def entry_for(owner: Hashable, rel: str) -> FileEntry | str | None:
        read.append((owner, rel))
        return UNCHANGED

    builder = IndexBuilder(entry_for, lambda owner, results: None)
    builder.submit("a", ["a1", "a2", "a3"])
    builder.submit("b", ["b1", "b2"])
    builder.submit("a", ["a2", "a4"])  # a2 keeps its place
    builder.submit("c", ["c1"])
    assert builder.pending("a") == 4 and builder.pending("b") == 2 and builder.pending() == 7
    builder.drop("c")
    assert builder.pending("c") == 0 and builder.pending() == 6
    builder.start()
    try:
        assert builder.wait_idle(10)
    finally:
        builder.stop()
    assert read == [("a", "a1"), ("a", "a2"), ("a", "a3"), ("a", "a4"), ("b", "b1"), ("b", "b2")]
    assert builder.stats()["reused"] == 6 and builder.pending() == 0
