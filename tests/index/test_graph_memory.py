"""What the reference graph holds: its entries as records (a bound per file), the files a save
is to write, and no emptied tables kept after a build."""

from __future__ import annotations

import gc
import sys
import tracemalloc

import orjson

from smartcache_ls.index.graph import FileEntry, RefGraph
from smartcache_ls.index.records import decode, encode
from smartcache_ls.index.symbols import definition


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


def _decoded_entry(i: int) -> FileEntry:
    """The entry of a generated file as the server gets it: decoded from a worker's JSON reply
    (every string its own object), like the 100k-file bench tree's files."""
    raw = orjson.dumps(
        {
            "mtime_ns": 1_796_226_226_560_917_354 + i,
            "size": 140,
            "hash": f"{i:032x}",
            "uses": {"Path": 1},
            "imports": [],
            "defs": [
                [f"File{i:06d}", "class", [4, 0, 6, 16]],
                [f"make_file{i:06d}", "function", [9, 0, 10, 23]],
            ],
        }
    )
    value = orjson.loads(raw)
    return FileEntry(
        value["mtime_ns"],
        value["size"],
        value["hash"],
        None,
        value["uses"],
        value["imports"],
        [definition(n, k, r) for n, k, r in value["defs"]],
    )


def test_a_built_graph_holds_at_most_600_bytes_a_file() -> None:
    """Entries as records (not objects, not interned names): 4,000 such files took 800-930
    bytes a file as objects (an entry, its tuples, hash and mtime, interned names), 475 as
    records."""
    rels = [f"d{i // 100}/f{i}.py" for i in range(4000)]  # (the paths are the file index's)
    gc.collect()
    tracemalloc.start()
    try:
        graph = RefGraph()
        for i, rel in enumerate(rels):
            graph.update({rel: _decoded_entry(i)})
        graph.settle(None)
        graph.take_unsaved()
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(graph) == 4000 and len(graph.symbols) == 8000
    assert held / 4000 <= 600, f"{held / 4000:.0f} bytes a file"


def test_entries_read_back_as_they_were_set() -> None:
    graph = RefGraph()
    entry = FileEntry(
        5,
        7,
        "h",
        "pkg",
        {"Path": 2, "caf\udce9": 1},
        ["b.py"],
        [("A", "class", (1, 2, 3, 4)), ("B", "enum", (5, 6, 7, 8))],
    )
    graph.update({"a.py": entry, "b.py": _entry()})
    assert graph.entries["a.py"] == entry and graph.entries.get("b.py") == _entry()
    assert "a.py" in graph.entries and "c.py" not in graph.entries and graph.entries.get("c.py") is None
    assert sorted(graph.entries) == ["a.py", "b.py"] and len(graph.entries) == 2
    assert FileEntry.from_json(decode(encode(graph.entries["a.py"].to_json()))) == entry  # (as stored)
    graph.drop(["a.py"])
    assert "a.py" not in graph.entries and graph.symbols.packed("a.py") == ()
