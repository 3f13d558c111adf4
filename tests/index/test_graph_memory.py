"""What the reference graph holds besides its entries: the files a save is to write, and no
emptied tables kept after a build."""

from __future__ import annotations

import sys

from smartcache_ls.index.graph import FileEntry, RefGraph


def _entry(*names: str) -> FileEntry:
    return FileEntry(0, 1, "h", None, {}, [], [(n, "class", (0, 0, 0, 0)) for n in names])

def test_updates_and_drops_are_marked_unsaved_until_taken() -> None:
    graph = RefGraph()
    graph.update({"a.py": _entry("A"), "b.py": _entry("B")})
    assert graph.take_unsaved() == {"a.py", "b.py"}
    assert graph.unsaved == 0 and graph.take_unsaved() == set()
    graph.drop(["a.py", "gone.py"])  # (a file the graph does not hold is no change)
    graph.update({"c.py": _entry("C")})
    assert graph.take_unsaved() == {"a.py", "c.py"}
    graph.mark_unsaved(["b.py"])
    assert graph.take_unsaved() == {"b.py"}


def test_a_settled_build_keeps_no_emptied_due_table() -> None:
    graph = RefGraph()
    graph.update({f"d{i // 100}/f{i}.py": _entry(f"N{i}", "shared") for i in range(5000)})
    assert graph.due == 5000
    while graph.settle(0.05):
        pass
    empty = sys.getsizeof(set())
    assert sys.getsizeof(graph._due) == empty  # a set keeps its table after its members go
    assert sys.getsizeof(graph._unsaved) > 100 * empty  # (what a save takes, a fresh set after)
    graph.take_unsaved()
    assert sys.getsizeof(graph._unsaved) == empty
