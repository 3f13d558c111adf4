"""The tools' results: a backend's answer shaped for an agent and fitted to its token budget.

Each function returns plain JSON data; truncation is always explicit
(``truncated`` and ``omitted`` say what was left out and how to get it).
"""

from __future__ import annotations

from typing import Any

import orjson

from . import budget
from .backend import Backend, ToolFailure
from .cache import BytesCache

# Outline answers already fitted, per session, path and budget, each with the outline's bytes it
# was fitted from (content hash and source inside), compared on every call: never stale.
_outlines = BytesCache(32)

WORKING_SET_TOKENS = 2_000
OUTLINE_TOKENS = 4_000
READ_FILE_TOKENS = 8_000


def _session(backend: Backend) -> str:
    return "editor" if backend.mode == "live" else "standalone"


def _lines(rng: Any) -> dict[str, int] | None:
    """An LSP range (0-based lines) as the 1-based inclusive lines read_file takes."""
    if not isinstance(rng, dict):
        return None
    start, end = rng.get("start", {}), rng.get("end", {})
    return {"startLine": int(start.get("line", 0)) + 1, "endLine": int(end.get("line", 0)) + 1}


def _symbol(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": s.get("name"),
        "kind": s.get("kind"),
        "range": _lines(s.get("range")),
        "children": [_symbol(c) for c in s.get("children") or []],
    }


def working_set(backend: Backend, k: int, max_tokens: int) -> dict[str, Any]:
    return fit_working_set(backend, backend.call("working_set", {"k": k}), max_tokens)


def working_set_text(backend: Backend, k: int, max_tokens: int) -> str:
    """:func:`working_set` as the JSON text sent: an answer well within the budget is the backend's
    bytes as they came (the editor's reply), with the session and ``truncated`` spliced in;
    otherwise decoded and fitted."""
    raw = backend.call_raw("working_set", {"k": k})
    # Fits whole when the answer (the skeleton, at most 80 characters plus the current path, and
    # every item of both lists, all inside raw) stays within the room _fit_working_set leaves.
    if raw.startswith(b'{"current":') and raw.endswith(b"}") and 2 * len(raw) + 150 <= 3 * max_tokens:
        session = b'{"session":' + orjson.dumps(_session(backend)) + b","
        return (session + raw[1:-1] + b',"truncated":false}').decode()
    return orjson.dumps(fit_working_set(backend, orjson.loads(raw), max_tokens)).decode()


def fit_working_set(backend: Backend, value: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """The backend's working set (current, files, open) cut to ``max_tokens``, saying what was left out."""
    files, open_docs = list(value.get("files", [])), list(value.get("open", []))
    out: dict[str, Any] = {
        "session": _session(backend),
        "current": value.get("current"),
        "files": [],
        "open": [],
        "truncated": False,
    }
    room = max_tokens - budget.tokens(out) - 20
    n = budget.fit_list(files, room)
    out["files"] = files[:n]
    m = budget.fit_list(open_docs, room - budget.tokens(out["files"]))
    out["open"] = open_docs[:m]
    if n < len(files) or m < len(open_docs):
        out["truncated"] = True
        out["omitted"] = {"files": len(files) - n, "open": len(open_docs) - m}
    return out


def outline(backend: Backend, path: str, max_tokens: int) -> dict[str, Any]:
    """The outline fitted to ``max_tokens`` (the answer is shared between calls: do not mutate it)."""
    return _outline(backend, path, max_tokens)[0]


def outline_text(backend: Backend, path: str, max_tokens: int) -> str:
    """:func:`outline` as the JSON text sent, encoded once per fitted answer."""
    return _outline(backend, path, max_tokens)[1]


def _outline(backend: Backend, path: str, max_tokens: int) -> tuple[dict[str, Any], str]:
    raw = backend.call_raw("outline", {"path": path})
    key = (_session(backend), path, max_tokens)
    built: tuple[dict[str, Any], str] | None = _outlines.built_from(key, raw)
    if built is None:
        out = _fit_outline(backend, orjson.loads(raw), path, max_tokens)
        built = (out, orjson.dumps(out).decode())
        _outlines.put_built(key, raw, built)
    return built


def _fit_outline(backend: Backend, value: dict[str, Any], path: str, max_tokens: int) -> dict[str, Any]:
    symbols = [_symbol(s) for s in value.get("symbols", [])]
    imports = list(value.get("imports", []))
    out: dict[str, Any] = {
        "session": _session(backend),
        "path": value.get("path", path),
        "language": value.get("language"),
        "lines": value.get("lines"),
        "hash": value.get("hash"),
        "source": value.get("source"),
        "symbols": [],
        "imports": [],
        "truncated": False,
    }
    whole = {**out, "symbols": symbols, "imports": imports}
    if budget.tokens(whole) <= max_tokens:
        return whole
    # room for the omitted counts reserved first, at their widest
    out["truncated"] = True
    out["omitted"] = {
        "symbols": len(symbols),
        "children": sum(len(s["children"]) for s in symbols),
        "imports": len(imports),
        "hint": "raise maxTokens, or read_file the ranges you need",
    }
    room = max_tokens - budget.tokens(out) - 2
    if room < 0:  # a budget near the minimum and a long path: the hint is the first to go
        del out["omitted"]["hint"]
        room = max_tokens - budget.tokens(out) - 2
    kept, room = _fit_symbols(symbols, room)
    out["symbols"] = kept
    n = budget.fit_list(imports, room)
    out["imports"] = imports[:n]
    out["omitted"] = {
        **out["omitted"],
        "symbols": len(symbols) - len(kept),
        "children": sum(s.get("childrenOmitted", 0) for s in kept),
        "imports": len(imports) - n,
    }
    return out


def _fit_symbols(symbols: list[dict[str, Any]], room: int) -> tuple[list[dict[str, Any]], int]:
    """The symbols that fit in ``room`` tokens, and the room left. Whole when all fit; else every
    top-level name that fits first (children left out and counted), then each one's leading
    children in order while room is left: names across the file before depth in one class (a
    Java file is one class: its methods are what room is left for)."""
    whole = [budget.tokens(s) + 1 for s in symbols]
    if sum(whole) <= room:
        return symbols, room - sum(whole)
    kept: list[dict[str, Any]] = []
    for s, cost in zip(symbols, whole, strict=True):
        if s["children"] and cost > room:
            s = {**s, "children": [], "childrenOmitted": len(s["children"])}
            cost = budget.tokens(s) + 1
        if cost > room:
            break
        kept.append(s)
        room -= cost
    for i, s in enumerate(kept):
        omitted = s.get("childrenOmitted", 0)
        if not omitted or room <= 0:
            continue
        full = symbols[i]["children"]
        n = budget.fit_list(full, room)
        while n > 0:
            grown = {**s, "children": full[:n], "childrenOmitted": len(full) - n}
            if n == len(full):
                grown = symbols[i]
            delta = -(-(len(orjson.dumps(grown)) - len(orjson.dumps(s))) // budget.CHARS_PER_TOKEN)
            if delta <= room:
                kept[i], room = grown, room - delta
                break
            n -= 1  # the estimate's rounding
    return kept, room


def read_file(
    backend: Backend, path: str, start_line: int | None, end_line: int | None, max_tokens: int
) -> dict[str, Any]:
    if start_line is not None and end_line is not None and end_line < start_line:
        raise ToolFailure("invalidParams", f"endLine {end_line} is before startLine {start_line}")
    value = backend.call("read_file", {"path": path})
    text = str(value.get("text", ""))
    lines = text.splitlines(keepends=True)
    total = len(lines)
    start = start_line or 1
    if start > max(total, 1):
        raise ToolFailure("invalidParams", f"startLine {start} is past the end: {path} has {total} lines")
    end = min(end_line or total, total)
    selected = lines[start - 1 : end]
    out: dict[str, Any] = {
        "session": _session(backend),
        "path": value.get("path", path),
        "hash": value.get("hash"),
        "source": value.get("source"),
        "unsaved": bool(value.get("unsaved")),
        "totalLines": total,
        "startLine": start,
        "endLine": end,
        "text": "",
        "truncated": False,
    }
    out["text"] = "".join(selected)
    if budget.tokens(out) <= max_tokens:
        return out
    # room for the omitted counts reserved first, at their widest
    out["text"] = ""
    out["truncated"] = True
    out["omitted"] = {"lines": len(selected), "charactersOfLine": len(selected[0]), "nextStartLine": end + 1}
    header = budget.tokens(out)
    n, cut = budget.cut_lines(selected, max_tokens - header - 1)
    if n == 0 and cut == 0:  # not an empty answer: say what budget the answer's own fields need
        raise ToolFailure(
            "invalidParams",
            f"maxTokens {max_tokens} leaves no room for text: the answer's own fields take {header} "
            f"tokens for {out['path']}; raise maxTokens",
        )
    if n > 0:
        out["text"] = "".join(selected[:n])
        out["endLine"] = start + n - 1
        out["omitted"] = {"lines": len(selected) - n, "nextStartLine": start + n}
    else:
        out["text"] = selected[0][:cut]
        out["endLine"] = start
        out["omitted"] = {
            "lines": len(selected) - 1,
            "charactersOfLine": len(selected[0]) - cut,
            "nextStartLine": start + 1,
        }
    return out


def related(backend: Backend, path: str, k: int) -> dict[str, Any]:
    value = backend.call("related", {"path": path, "k": k})  # first: the call may change the session
    return {"session": _session(backend), **value}


def find_symbol(backend: Backend, name: str, kind: str | None, k: int) -> dict[str, Any]:
    value = backend.call("find_symbol", {"name": name, "kind": kind, "k": k})
    matches = [{**m, "range": _lines(m.get("range"))} for m in value.get("matches", [])]
    return {"session": _session(backend), "name": name, "kind": kind, "matches": matches}


def cache_stats(backend: Backend) -> dict[str, Any]:
    value = backend.call("stats", {})
    live = backend.mode == "live"
    return {
        "session": _session(backend),
        **value,
        "freshness": {
            "editorBuffers": live,
            "rule": "every answer is checked against the editor's buffer (its hash) or the file's "
            "mtime and size on disk before it is served; a stale entry is reloaded, never returned",
            **({} if live else {"whyStandalone": backend.last_link_error}),
        },
    }
