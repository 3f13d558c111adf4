"""The background index builder: queued files are read once each, oldest first, per owner."""

from __future__ import annotations

import sys
from collections.abc import Hashable

from smartcache_ls.index.builder import UNCHANGED, IndexBuilder, Outcome, _Queue


def test_queued_files_are_read_once_in_order_and_dropped_with_their_owner() -> None:
    read: list[tuple[Hashable, str]] = []

    def entries_for(owner: Hashable, rels: list[str]) -> list[Outcome]:
        read.extend((owner, rel) for rel in rels)
        return [UNCHANGED] * len(rels)

    builder = IndexBuilder(entries_for, lambda owner, rel, entry: None)
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


def test_a_drained_queue_lets_go_of_its_table() -> None:
    queue = _Queue()
    queue.add(f"src/file{i}.py" for i in range(50_000))
    queue.add(["src/file7.py"])  # already queued: keeps its place, no second entry
    assert len(queue.order) == 50_000
    taken: list[str | None] = []
    while queue.order:
        taken.append(queue.take_free(()))
    assert taken == [f"src/file{i}.py" for i in range(50_000)]
    assert sys.getsizeof(queue.members) == sys.getsizeof(set())
