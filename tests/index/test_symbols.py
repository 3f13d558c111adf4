"""Definitions are kept compact (interned names and kinds, spans) and answered by file."""

from __future__ import annotations

import orjson

from smartcache_ls.index.graph import FileEntry
from smartcache_ls.index.symbols import SymbolTable, definitions

RANGE = {"start": {"line": 3, "character": 4}, "end": {"line": 9, "character": 0}}


def test_names_read_from_separate_analyses_are_one_string() -> None:
    a = definitions([{"name": "".join(["Mo", "del"]), "kind": "class", "range": RANGE}])
    b = FileEntry.from_json(
        [1, 2, "h", None, {"".join(["Mo", "del"]): 1}, [], [["".join(["Mo", "del"]), "class", RANGE]]]
    )
    assert a[0][0] is b.defs[0] is next(iter(b.uses))
    assert a[0][2] == (3, 4, 9, 0)


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
    later = {"start": {"line": 20, "character": 0}, "end": {"line": 21, "character": 0}}
    table = SymbolTable()
    table.set_file(
        "a.py",
        definitions(
            [
                {"name": "Model", "kind": "class", "range": RANGE},
                {"name": "Model", "kind": "function", "range": later},
            ]
        ),
    )
    assert dict(table.definers("Model")) == {"a.py": ("class", (3, 4, 9, 0))}
    assert list(table.definer_files("Model")) == ["a.py"]
    table.set_file("b.py", definitions([{"name": "Model", "kind": "function", "range": later}]))
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
