"""Recorded developer activity: JSON-lines traces.

The first line is a header ``{"type": "header", "name", "kind", ...}``; every
other line is an event ``{"t": seconds, "session": id, "event": "open"|"edit",
"path": ...}`` in time order. Extra keys on an event (``action``...) are kept
out of :class:`TraceEvent`; the evaluation needs only these four.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

EVENT_KINDS = ("open", "edit")


class TraceFormatError(ValueError):
    """A trace file is not a valid JSON-lines trace (the message names the line)."""


@attrs.frozen
class TraceEvent:
    t: float
    session: str
    event: str
    path: str


def _event(raw: Any, where: str) -> TraceEvent:
    if not isinstance(raw, dict):
        raise TraceFormatError(f"{where}: an event must be a JSON object")
    try:
        t = float(raw["t"])
        session = str(raw.get("session", ""))
        event = str(raw.get("event", "open"))
        path = raw["path"]
    except (KeyError, TypeError, ValueError) as exc:
        raise TraceFormatError(f"{where}: bad event ({exc!r})") from exc
    if not isinstance(path, str) or not path:
        raise TraceFormatError(f"{where}: 'path' must be a non-empty string")
    if event not in EVENT_KINDS:
        raise TraceFormatError(f"{where}: 'event' must be one of {EVENT_KINDS}, not {event!r}")
    return TraceEvent(t=t, session=session, event=event, path=path)


def read_trace(path: Path) -> tuple[dict[str, Any], list[TraceEvent]]:
    """Read a trace: (header, events). A missing header yields ``{}``; bad lines raise."""
    header: dict[str, Any] = {}
    events: list[TraceEvent] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TraceFormatError(f"{where}: not JSON ({exc.msg})") from exc
            if isinstance(raw, dict) and raw.get("type") == "header":
                if events or header:
                    raise TraceFormatError(f"{where}: the header must be the first line")
                header = raw
                continue
            events.append(_event(raw, where))
    return header, events


def collapse_repeats(events: Iterable[TraceEvent]) -> list[TraceEvent]:
    """Drop events on the same path as the event before them in the same session.

    What is left is the sequence of file switches (plus each session's first access).
    """
    out: list[TraceEvent] = []
    for ev in events:
        if out and out[-1].path == ev.path and out[-1].session == ev.session:
            continue
        out.append(ev)
    return out


def split_sessions(events: Iterable[TraceEvent]) -> Iterator[list[TraceEvent]]:
    """Consecutive runs of events with the same session id."""
    run: list[TraceEvent] = []
    for ev in events:
        if run and run[-1].session != ev.session:
            yield run
            run = []
        run.append(ev)
    if run:
        yield run


def write_trace(path: Path, header: dict[str, Any], events: Iterable[TraceEvent]) -> None:
    """Write a trace (used by tests and tools that synthesise traces)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"type": "header", **header}) + "\n")
        for ev in events:
            fh.write(json.dumps(attrs.asdict(ev)) + "\n")
