"""Helpers shared by the analysis tests."""

from __future__ import annotations

from typing import Any


def shape(symbols: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Symbols as (kind, name) or (kind, name, [children...]) tuples, for exact comparisons."""
    out: list[tuple[Any, ...]] = []
    for sym in symbols:
        children = shape(sym["children"])
        out.append((sym["kind"], sym["name"], children) if children else (sym["kind"], sym["name"]))
    return out


def find(symbols: list[dict[str, Any]], *path: str) -> dict[str, Any]:
    """The symbol reached by following names down the tree."""
    current: dict[str, Any] | None = None
    level = symbols
    for name in path:
        current = next(s for s in level if s["name"] == name)
        level = current["children"]
    assert current is not None
    return current
