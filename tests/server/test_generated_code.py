"""attrs' generated methods keep their behaviour with compact globals; their sources go.

Each run is its own interpreter: the rebinding changes classes for good, as it does in the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

MODULE = textwrap.dedent(
    '''
    import attrs

    {pad}

    def positive(instance, attribute, value):
        if value <= 0:
            raise ValueError(f"{{attribute.name}} must be positive")

    @attrs.define
    class Point:
        x: int = attrs.field(validator=positive)
        y: int = 0
        tags: list[str] = attrs.field(factory=list)

    @attrs.frozen
    class Key:
        name: str
        n: int = 1

    @attrs.define(slots=False, order=True)
    class Loose:
        a: int
        b: "Point | None" = None  # a string annotation: get_type_hints resolves it in the globals
    '''
).format(pad="\n".join(f"PAD_{i} = {i}" for i in range(800)))

RUN = textwrap.dedent(
    """
    import json, sys, typing
    sys.path.insert(0, sys.argv[1])
    import shapes
    from smartcache_ls.generated_code import compact_attrs_methods

    def observe():
        seen = {}
        p = shapes.Point(2, tags=["a"])
        seen["repr"] = [repr(p), repr(shapes.Key("k")), repr(shapes.Loose(1, p))]
        seen["eq"] = [
            p == shapes.Point(2, tags=["a"]), p == shapes.Point(3), shapes.Key("k") == shapes.Key("k", 1)
        ]
        seen["hash"] = hash(shapes.Key("k", 2)) == hash(shapes.Key("k", 2))
        seen["order"] = shapes.Loose(1) < shapes.Loose(2)
        seen["factory"] = shapes.Point(1).tags == [] and shapes.Point(1).tags is not shapes.Point(1).tags
        try:
            shapes.Point(0)
            seen["validator"] = "accepted"
        except ValueError as exc:
            seen["validator"] = str(exc)
        try:
            shapes.Key("k").n = 3
            seen["frozen"] = "assigned"
        except Exception as exc:
            seen["frozen"] = type(exc).__name__
        seen["hints"] = {
            c.__name__: {k: repr(v) for k, v in typing.get_type_hints(c.__init__).items()}
            for c in (shapes.Point, shapes.Key, shapes.Loose)
        }
        return seen

    before = observe()
    rebound = compact_attrs_methods([shapes])
    after = observe()
    print(json.dumps({
        "before": before, "after": after, "rebound": rebound,
        "point_globals": len(shapes.Point.__init__.__globals__),
        "loose_globals": len(shapes.Loose.__init__.__globals__),
        "again": compact_attrs_methods([shapes]),
    }))
    """
)


def _run(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def test_generated_methods_behave_the_same_with_only_the_names_they_read(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text(MODULE)
    result = _run(RUN, str(tmp_path))
    assert result["after"] == result["before"]
    before = result["before"]
    assert before["validator"] == "x must be positive" and before["frozen"] == "FrozenInstanceError"
    assert before["eq"] == [True, False, True] and before["hash"] and before["order"] and before["factory"]
    assert before["hints"]["Loose"]["b"] == "shapes.Point | None"
    assert result["rebound"] > 0
    assert result["point_globals"] < 20  # (attrs gives it a copy of all 800+ names)
    assert result["loose_globals"] > 800  # string annotations: left as attrs made them
    assert result["again"] == 0  # a compact globals dict is not an attrs copy: nothing to redo


PROTOCOL_RUN = textwrap.dedent(
    """
    import json, linecache
    from lsprotocol import types
    from pygls.protocol import default_converter
    from smartcache_ls.generated_code import GENERATED, compact_attrs_methods, drop_generated_sources

    wire = {
        "processId": 7, "rootUri": "file:///w",
        "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown"]}}},
        "workspaceFolders": [{"uri": "file:///w", "name": "w"}], "initializationOptions": {"k": [1, 2]},
    }
    symbol = types.DocumentSymbol(
        name="f", kind=types.SymbolKind.Function,
        range=types.Range(types.Position(0, 0), types.Position(3, 1)),
        selection_range=types.Range(types.Position(0, 4), types.Position(0, 5)), children=[],
    )

    def round_trip():
        converter = default_converter()
        params = converter.structure(wire, types.InitializeParams)
        return [converter.unstructure(params), converter.unstructure(symbol), repr(params.capabilities)]

    before = round_trip()
    generated_before = sum(name.startswith(GENERATED) for name in linecache.cache)
    rebound = compact_attrs_methods()
    dropped = drop_generated_sources()
    after = round_trip()
    print(json.dumps({
        "same": before == after, "rebound": rebound, "generated_before": generated_before, "dropped": dropped,
        "generated_after": sum(name.startswith(GENERATED) for name in linecache.cache),
        "init_globals": len(types.Position.__init__.__globals__), "module_names": len(vars(types)),
    }))
    """
)


def test_the_protocol_types_convert_the_same_once_compacted_and_their_sources_are_gone() -> None:
    result = _run(PROTOCOL_RUN)
    assert result["same"]
    assert result["rebound"] > 500  # (lsprotocol alone has about 550 attrs classes)
    assert result["generated_before"] > 500 and result["dropped"] >= result["generated_before"]
    assert result["generated_after"] == 0
    assert result["init_globals"] < 20 < result["module_names"]
