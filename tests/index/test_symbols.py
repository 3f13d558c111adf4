"""Definitions are kept compact (interned kinds, spans, a record per file) and answered by file."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

import orjson

from smartcache_ls.index import symbols
from smartcache_ls.index.graph import FileEntry
from smartcache_ls.index.symbols import SymbolTable, definitions

RANGE = {"start": {"line": 3, "character": 4}, "end": {"line": 9, "character": 0}}
LATER = {"start": {"line": 20, "character": 0}, "end": {"line": 21, "character": 0}}  # a second definition's


def test_kinds_read_from_separate_analyses_are_one_string() -> None:
    a = definitions([{"name": "".join(["Mo", "del"]), "kind": "".join(["cl", "ass"]), "range": RANGE}])
    b = FileEntry.from_json(
        [1, 2, "h", None, {"".join(["Mo", "del"]): 1}, [], [["".join(["Mo", "del"]), "class", RANGE]]]
    )
    assert a[0][1] is b.defs[1]  # (names are not interned: the symbol table keeps one copy)
    assert a[0][0] == b.defs[0] == next(iter(b.uses))
    assert a[0][2] == (3, 4, 9, 0)


def test_a_files_definitions_come_back_from_its_record() -> None:
    table = SymbolTable()
    lone = "caf\udce9"  # (a lone surrogate: what orjson refuses, kept all the same)
    table.set_file(
        "a.py", definitions([{"name": n, "kind": "class", "range": RANGE} for n in ("A", lone, "B")])
    )
    expected = tuple(x for n in ("A", lone, "B") for x in (n, "class", 3, 4, 9, 0))
    assert table.packed("a.py") == expected
    assert table.definers(lone) == {"a.py": ("class", (3, 4, 9, 0))}
    assert table.drop_file("a.py") == {"A", lone, "B"} and table.packed("a.py") == () and len(table) == 0


def test_definers_follow_files_defining_and_dropping_a_name() -> None:
    def defs(*names: str) -> list[tuple[str, str, tuple[int, int, int, int]]]:
        return definitions([{"name": n, "kind": "class", "range": RANGE} for n in names])

    table = SymbolTable()
    assert table.set_file("a.py", defs("Model", "Model")) == {"Model"}  # the first one is kept
    assert dict(table.definers("Model")) == {"a.py": ("class", (3, 4, 9, 0))}
    assert table.set_file("b.py", defs("Model", "View")) == {"Model", "View"}
    assert sorted(table.definers("Model")) == ["a.py", "b.py"]
    assert table.drop_file("a.py") == {"Model"}
    assert dict(table.definers("Model")) == {"b.py": ("class", (3, 4, 9, 0))}
    assert [f[2] for f in table.find("Model")] == ["b.py"]
    table.drop_file("b.py")
    assert not table.definers("Model") and not table.definers("View") and len(table) == 0


def test_a_name_one_file_defines_answers_that_files_first_definition() -> None:
    table = SymbolTable()
    table.set_file(
        "a.py",
        definitions(
            [
                {"name": "Model", "kind": "class", "range": RANGE},
                {"name": "Model", "kind": "function", "range": LATER},
            ]
        ),
    )
    assert dict(table.definers("Model")) == {"a.py": ("class", (3, 4, 9, 0))}
    assert list(table.definer_files("Model")) == ["a.py"]
    table.set_file("b.py", definitions([{"name": "Model", "kind": "function", "range": LATER}]))
    assert dict(table.definers("Model")) == {
        "a.py": ("class", (3, 4, 9, 0)),
        "b.py": ("function", (20, 0, 21, 0)),
    }
    table.drop_file("b.py")
    assert dict(table.definers("Model")) == {"a.py": ("class", (3, 4, 9, 0))}
    assert list(table.definer_files("Nothing")) == []


def test_an_entry_is_stored_as_before_and_read_back_equal() -> None:
    raw = [1, 2, "h", "pkg", {"Model": 3, "View": 1}, ["b.py"], [["Model", "class", [3, 4, 9, 0]]]]
    entry = FileEntry.from_json(raw)
    assert dict(entry.use_items()) == {"Model": 3, "View": 1} and list(entry.used_names()) == [
        "Model",
        "View",
    ]
    assert orjson.loads(orjson.dumps(entry.to_json())) == raw  # (the format is unchanged)
    assert FileEntry.from_json(entry.to_json()) == entry


def _steps_to_set(
    table: SymbolTable, rel: str, defs: list[tuple[str, str, tuple[int, int, int, int]]]
) -> int:
    """Lines of the symbol table's module run by ``set_file`` (a count of work, not a time)."""
    module = symbols.__file__
    steps = 0

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal steps
        if frame.f_code.co_filename != module:
            return None
        if event == "line":
            steps += 1
        return trace

    sys.settrace(trace)
    try:
        table.set_file(rel, defs)
    finally:
        sys.settrace(None)
    return steps


def test_a_copy_of_a_file_costs_work_linear_in_its_definitions() -> None:
    # A copied file (the same module in each folder) makes every name of the original a name
    # of two files; reading the original's kind and span once per name rescanned its packed
    # definitions each time: quadratic, 0.7 s for 2,600 definitions and the editor stalled.
    def steps(n: int) -> int:
        defs = definitions([{"name": f"Model{i}", "kind": "class", "range": RANGE} for i in range(n)])
        table = SymbolTable()
        table.set_file("pkg0/big.py", defs)
        return _steps_to_set(table, "pkg1/big.py", defs)

    small, large = steps(300), steps(600)
    assert large < 3 * small  # linear doubles it (quadratic: 4x)


def test_a_copy_keeps_each_files_first_definition() -> None:
    table = SymbolTable()
    table.set_file(
        "a.py",
        definitions(
            [
                {"name": "View", "kind": "class", "range": RANGE},
                {"name": "Model", "kind": "function", "range": RANGE},
                {"name": "Model", "kind": "class", "range": LATER},
            ]
        ),
    )
    table.set_file("b.py", definitions([{"name": "Model", "kind": "class", "range": LATER}]))
    assert dict(table.definers("Model")) == {
        "a.py": ("function", (3, 4, 9, 0)),
        "b.py": ("class", (20, 0, 21, 0)),
    }
    assert dict(table.definers("View")) == {"a.py": ("class", (3, 4, 9, 0))}
    assert table.definers("Nothing") == {}
