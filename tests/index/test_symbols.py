"""Definitions are kept compact (interned names and kinds, spans) and answered by file."""

from __future__ import annotations

from smartcache_ls.index.graph import FileEntry
from smartcache_ls.index.symbols import definitions

RANGE = {"start": {"line": 3, "character": 4}, "end": {"line": 9, "character": 0}}


def test_names_read_from_separate_analyses_are_one_string() -> None:
    a = definitions([{"name": "".join(["Mo", "del"]), "kind": "class", "range": RANGE}])
    b = FileEntry.from_json(
        [1, 2, "h", None, {"".join(["Mo", "del"]): 1}, [], [["".join(["Mo", "del"]), "class", RANGE]]]
    )
    assert a[0][0] is b.defs[0][0] is next(iter(b.uses))
    assert a[0][2] == (3, 4, 9, 0)
