"""The background index builder: queued files are read once each, oldest first, per owner."""

from __future__ import annotations

import sys
import threading
import time
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


def test_lanes_read_in_parallel_and_a_file_queued_again_waits_for_its_first_read() -> None:
    """Two lanes: a slow file does not hold the others back; the same file queued again while
    it is read is read after that read's entry is applied, never beside it."""
    events: list[str] = []
    lock = threading.Lock()
    slow_started, release = threading.Event(), threading.Event()
    reads = {"slow.py": 0}

    def entries_for(owner: Hashable, rels: list[str]) -> list[Outcome]:
        for rel in rels:
            with lock:
                events.append(f"read {rel}")
            if rel == "slow.py":
                reads["slow.py"] += 1
                if reads["slow.py"] == 1:
                    slow_started.set()
                    assert release.wait(10)
        return [None] * len(rels)

    def apply(owner: Hashable, rel: str, entry: object) -> None:
        with lock:
            events.append(f"apply {rel}")

    builder = IndexBuilder(entries_for, apply)
    builder.parallel = 2
    builder.start()
    try:
        builder.submit("a", ["slow.py", "b.py", "c.py"])
        assert slow_started.wait(10)
        builder.submit("a", ["slow.py", "d.py"])  # slow.py again, while its first read waits
        for _ in range(200):  # the other lane goes on meanwhile
            with lock:
                if "apply d.py" in events:
                    break
            time.sleep(0.05)
        with lock:
            assert {"apply b.py", "apply c.py", "apply d.py"} <= set(events), events
            assert events.count("read slow.py") == 1
        release.set()
        assert builder.wait_idle(10)
    finally:
        builder.stop()
    assert events.count("read slow.py") == 2
    assert events.index("apply slow.py") < len(events) - 1 - events[::-1].index("read slow.py")
    assert builder.stats()["dropped"] == 5 and builder.pending() == 0
