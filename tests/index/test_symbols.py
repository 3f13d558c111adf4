"""Definitions are kept compact (interned names and kinds, spans) and answered by file."""

from __future__ import annotations

from smartcache_ls.index.graph import FileEntry
from smartcache_ls.index.symbols import SymbolTable, definitions

RANGE = {"start": {"line": 3, "character": 4}, "end": {"line": 9, "character": 0}}


def test_names_read_from_separate_analyses_are_one_string() -> None:
    a = definitions([{"name": "".join(["Mo", "del"]), "kind": "class", "range": RANGE}])
    b = FileEntry.from_json(
        [1, 2, "h", None, {"".join(["Mo", "del"]): 1}, [], [["".join(["Mo", "del"]), "class", RANGE]]]
    )
    assert a[0][0] is b.defs[0][0] is next(iter(b.uses))
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
