"""verify_shared: the analysis of exactly our text, in the analyser's shape, or refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from smartcache_ls.analysis import analyze
from smartcache_ls.cache.shared import MAX_DEPTH, verify_shared

TEXT = "class A:\n    def f(self):\n        return 1\n\n\ndef g():\n    pass\n"
GOOD = analyze("a.py", TEXT)


def _nested(depth: int) -> list[dict[str, Any]]:
    node: list[dict[str, Any]] = []
    for _ in range(depth):
        node = [{"name": "x", "kind": "class", "range": GOOD["symbols"][0]["range"], "children": node}]
    return node


def test_the_real_analysis_is_accepted() -> None:
    assert verify_shared(copy.deepcopy(GOOD), TEXT, "python") is None
    header = analyze("a.h", "namespace n { int x; }\n")
    assert header["language"] == "cpp"
    assert verify_shared(header, "namespace n { int x; }\n", "c") is None  # .h: C or C++


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"hash": "0" * 32}, "hash"),
        ({"language": "go"}, "language"),
        ({"lines": 99}, "lines"),
        ({"bytes": -1}, "bytes"),
        ({"imports": [1]}, "imports"),
        ({"imports": "os"}, "imports"),
        ({"metrics": {"lines": "7"}}, "metrics"),
        ({"symbols": "A"}, "symbols"),
        ({"symbols": [{"name": "A"}]}, "symbol"),
        ({"symbols": [{**GOOD["symbols"][0], "name": 1}]}, "name"),
        ({"symbols": [{**GOOD["symbols"][0], "range": {"start": 0, "end": 0}}]}, "range"),
        ({"symbols": [{**GOOD["symbols"][0], "range": {"start": {"line": 500, "character": 0},
                                                         "end": {"line": 501, "character": 0}}}]}, "range"),
        ({"symbols": _nested(MAX_DEPTH + 2)}, "deep"),
        ({"extra": "field"}, "fields"),
        ({"names": {"uses": {}}}, "names"),
        ({"names": {"package": 1, "uses": {}}}, "package"),
        ({"names": {"package": None, "uses": {"A": "1"}}}, "names"),
        ({"names": {"package": None, "uses": {str(i): 1 for i in range(3000)}}}, "bounded"),
    ],
)
def test_anything_else_is_refused(change: dict[str, Any], reason: str) -> None:
    why = verify_shared({**copy.deepcopy(GOOD), **change}, TEXT, "python")
    assert why is not None and reason in why, why


def test_not_an_object_or_a_missing_field() -> None:
    assert verify_shared([GOOD], TEXT, "python") == "not an object"
    assert verify_shared({k: v for k, v in GOOD.items() if k != "metrics"}, TEXT, "python") is not None
    assert verify_shared(GOOD, TEXT + "x", "python") is not None  # another text
