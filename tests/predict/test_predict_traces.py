"""Reading traces and collapsing repeats."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcache_ls.predict.traces import (
    TraceEvent,
    TraceFormatError,
    collapse_repeats,
    read_trace,
    split_sessions,
    write_trace,
)


def test_read_write_roundtrip(tmp_path: Path) -> None:
    events = [
        TraceEvent(1.0, "s1", "open", "a.py"),
        TraceEvent(2.0, "s1", "edit", "a.py"),
        TraceEvent(3.0, "s1", "open", "b.py"),
        TraceEvent(4.0, "s2", "open", "b.py"),
    ]
    path = tmp_path / "t.jsonl"
    write_trace(path, {"name": "t", "kind": "navigation"}, events)
    header, read = read_trace(path)
    assert header["name"] == "t" and header["type"] == "header"
    assert read == events


def test_collapse_keeps_session_boundaries() -> None:
    events = [
        TraceEvent(1.0, "s1", "open", "a.py"),
        TraceEvent(2.0, "s1", "edit", "a.py"),
        TraceEvent(3.0, "s1", "open", "b.py"),
        TraceEvent(4.0, "s2", "open", "b.py"),
        TraceEvent(5.0, "s2", "open", "b.py"),
    ]
    assert [(e.session, e.path) for e in collapse_repeats(events)] == [
        ("s1", "a.py"),
        ("s1", "b.py"),
        ("s2", "b.py"),
    ]
    assert [len(s) for s in split_sessions(events)] == [3, 2]


@pytest.mark.parametrize(
    "line",
    [
        '{"t": 1, "session": "s", "event": "open"}',
        "not json",
        '{"t": "x", "path": "a"}',
        '{"t": 1, "path": "a", "event": "close"}',
        "[1, 2]",
    ],
)
def test_bad_lines_raise_with_location(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type": "header", "name": "x"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(TraceFormatError, match=r"bad\.jsonl:2"):
        read_trace(path)


def test_reads_the_shipped_traces() -> None:
    root = Path("/work/shared/traces")
    if not root.is_dir():
        pytest.skip("shared traces not present")
    header, events = read_trace(root / "nav-abb-J1.jsonl")
    assert header["kind"] == "navigation"
    assert events and all(e.path.endswith(".java") for e in events)
