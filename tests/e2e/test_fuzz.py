"""Seeded fuzzing of a real server process: frames and params across every method we register.

A fixed seed makes every run send the same 10,000+ frames: valid messages,
mutated params (wrong types, missing or extra fields, huge, deep, bad uris),
broken envelopes, broken bodies and broken framing. Frames go out in small
batches; each request must be answered within 2 s of being sent. At the end:
the process is alive, stdout held only frames of strict JSON (RawServer checks
every byte), every invalid request got -32700/-32600/-32602/-32803 (or -32601
for a method nobody registered; a broken envelope with a readable id -32600 with
that id), nothing was an internal error, and no reply nor stderr holds a
traceback.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

from smartcache_ls.paths import path_to_uri

from .raw_server import RawServer, frame

SEED = 20261201
FRAMES = 10_000
BATCH = 40
REPLY_WITHIN = 2.0
TIME_BOUND = 120.0
INVALID = {-32700, -32600, -32602, -32803, -32601}
CANCELLED = -32800


class Raw:
    """JSON text put into a message as it is (numbers beyond a double, deep nesting, escapes)."""

    def __init__(self, text: str) -> None:
        self.text = text


def to_json(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


class Fuzzer:
    def __init__(self, rng: random.Random, workspace: Path) -> None:
        self.rng = rng
        self.ws = workspace
        root = path_to_uri(workspace)
        self.good_uris = [
            path_to_uri(workspace / n) for n in ("app.py", "models.py", "util.py", "test_models.py")
        ]
        self.bad_uris: list[Any] = [
            root + "/data.bin",
            root + "/pkg",
            root + "/missing.py",
            root + "/pipe.py",
            root + "/%00.py",
            root + "/a%ED%A0%80.py",
            root + "/../outside.py",
            root,
            "file:///etc/passwd",
            "file:///dev/zero",
            "http://example.invalid/x.py",
            "file://remote-host/x.py",
            "file:relative.py",
            "",
            "x" * 10_000,
            root + "/" + "d/" * 2_000 + "x.py",
            Raw('"' + root + '/\\ud800.py"'),
            Raw('"\\u0000"'),
            7,
            None,
            ["file:///a"],
            {"uri": root},
        ]
        self.next_id = 100_000  # above the ids RawServer gives its own requests
        self.must_refuse: set[int] = set()

    # values ------------------------------------------------------------------------
    def uri(self) -> Any:
        return self.rng.choice(self.good_uris) if self.rng.random() < 0.6 else self.rng.choice(self.bad_uris)

    def junk(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 3 or r < 0.35:
            return self.rng.choice(
                [
                    0,
                    -1,
                    2**31,
                    2**63,
                    Raw("123456789012345678901234567890"),
                    1.5,
                    Raw("1e400"),
                    Raw("-1e400"),
                    1e308,
                    True,
                    False,
                    None,
                    "",
                    "text",
                    "\u00e9\U0001f600",
                    Raw('"\\udc00"'),
                    "x" * self.rng.choice([100, 70_000]),
                ]
            )
        if r < 0.5:
            return self.uri()
        if r < 0.7:
            return [self.junk(depth + 1) for _ in range(self.rng.randint(0, 4))]
        if r < 0.8:
            n = self.rng.choice([70, 300, 900])
            return Raw("[" * n + "]" * n) if self.rng.random() < 0.5 else Raw('{"a":' * n + "1" + "}" * n)
        if r < 0.85:
            return list(range(self.rng.choice([1_000, 20_000])))
        return {
            self.rng.choice(["uri", "k", "uris", "scope", "text", "x"]): self.junk(depth + 1)
            for _ in range(2)
        }

    def position(self) -> dict[str, Any]:
        return {"line": self.rng.choice([0, 1, 3, 10**6, -1]), "character": self.rng.choice([0, 2, 10**6])}

    # params of every method ------------------------------------------------------
    def params(self, method: str) -> Any:
        rng = self.rng
        doc_uri = self.uri()
        if method == "smartcache/stats":
            return {}
        if method == "smartcache/predict":
            return {"uri": doc_uri, "k": rng.choice([1, 5, 100])}
        if method in ("smartcache/getFile", "smartcache/getAnalysis", "smartcache/didFocus"):
            return {"uri": doc_uri}
        if method == "smartcache/prefetch":
            return {"uris": [self.uri() for _ in range(rng.randint(0, 5))]}
        if method == "smartcache/clear":
            return {"scope": rng.choice(["memory", "all"])}
        if method == "textDocument/didOpen":
            text = rng.choice(["x = 1\n", "", "def f():\n    return 2\n" * 50, "caf\u00e9\n"])
            return {
                "textDocument": {
                    "uri": doc_uri,
                    "languageId": "python",
                    "version": rng.randint(0, 99),
                    "text": text,
                }
            }
        if method == "textDocument/didChange":
            changes: list[Any] = [{"text": "y = 2\n"}]
            if rng.random() < 0.5:
                changes = [{"range": {"start": self.position(), "end": self.position()}, "text": "z"}]
            if rng.random() < 0.2:
                changes = []
            return {
                "textDocument": {"uri": doc_uri, "version": rng.randint(0, 99)},
                "contentChanges": changes,
            }
        if method == "textDocument/didSave":
            return {"textDocument": {"uri": doc_uri}, "text": rng.choice([None, "saved = 1\n"])}
        if method == "textDocument/didClose":
            return {"textDocument": {"uri": doc_uri}}
        if method == "workspace/didChangeConfiguration":
            settings = {
                rng.choice(["maxMemoryMB", "maxDiskMB", "ttlSeconds", "maxFileKB"]): rng.choice(
                    [1, 64, 1e308, Raw("1e400"), -5, 0, "big", None, 10**12]
                ),
                "prefetch": {"topK": rng.choice([0, 3, 10**9]), "threshold": rng.choice([0.1, -1, 7])},
            }
            return {"settings": settings if rng.random() < 0.7 else {"smartcache": settings}}
        if method == "workspace/didChangeWorkspaceFolders":
            folder = {
                "uri": rng.choice(
                    [path_to_uri(self.ws / "pkg"), path_to_uri(self.ws / "missing"), "http://x"]
                ),
                "name": "f",
            }
            return {
                "event": {
                    "added": [folder] if rng.random() < 0.5 else [],
                    "removed": [folder] if rng.random() < 0.5 else [],
                }
            }
        if method == "workspace/executeCommand":
            return {"command": rng.choice(["smartcache.nothing", ""]), "arguments": [self.junk()]}
        if method == "$/cancelRequest":
            return {"id": rng.choice([self.next_id - 1, "x", 10**6])}
        if method == "$/setTrace":
            return {"value": rng.choice(["off", "messages", "verbose", "loud"])}
        if method == "initialize":
            return {"processId": None, "capabilities": {}, "rootUri": path_to_uri(self.ws)}
        return {"anything": self.junk()}

    def mutate(self, params: Any) -> Any:
        """One change at a random place: a wrong type, a removed or an added field, junk."""
        rng = self.rng
        if not isinstance(params, dict) or not params or rng.random() < 0.15:
            return self.junk()
        key = rng.choice(list(params))
        out = dict(params)
        r = rng.random()
        if r < 0.3:
            del out[key]
        elif r < 0.45:
            out["unexpected"] = self.junk()
        elif r < 0.7 and isinstance(params[key], dict):
            out[key] = self.mutate(params[key])
        else:
            out[key] = self.junk()
        return out


REQUESTS = [
    "smartcache/stats",
    "smartcache/predict",
    "smartcache/getFile",
    "smartcache/getAnalysis",
    "smartcache/prefetch",
    "smartcache/clear",
    "workspace/executeCommand",
    "initialize",
    "smartcache/unknownMethod",
]
NOTIFICATIONS = [
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didSave",
    "textDocument/didClose",
    "smartcache/didFocus",
    "workspace/didChangeConfiguration",
    "workspace/didChangeWorkspaceFolders",
    "$/cancelRequest",
    "$/setTrace",
]


def make_frame(fz: Fuzzer) -> tuple[bytes, int | None]:
    """One frame, and the id a reply must come back with (None when no reply can be claimed)."""
    rng = fz.rng
    is_request = rng.random() < 0.55
    method = rng.choice(REQUESTS if is_request else NOTIFICATIONS)
    params = fz.params(method)
    if rng.random() < 0.35:
        params = fz.mutate(params)
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    msg_id: int | None = None
    if is_request:
        fz.next_id += 1
        msg_id = fz.next_id
        message["id"] = msg_id
    if rng.random() < 0.9:
        message["params"] = params
    r = rng.random()
    if r < 0.08:  # a broken envelope
        what = rng.choice(["jsonrpc", "nojsonrpc", "id", "method", "batch", "scalar"])
        if what == "jsonrpc":
            message["jsonrpc"] = rng.choice(["1.0", 2, None])
        elif what == "nojsonrpc":
            del message["jsonrpc"]
        elif what == "id":
            message["id"] = rng.choice([{"a": 1}, [1], True, 1.5, Raw("1e400"), Raw('"\\ud800"')])
            msg_id = None
        elif what == "method":
            message["method"] = rng.choice([7, None, ["x"], Raw('"\\udfff"')])
        elif what == "batch":
            return frame(("[" + to_json(message) + "]").encode()), None
        else:
            return frame(to_json(rng.choice([1, "x", None, True])).encode()), None
        if msg_id is not None:
            fz.must_refuse.add(msg_id)  # a readable id in a broken envelope: -32600 with that id
        return frame(to_json(message).encode()), msg_id
    body = to_json(message).encode()
    if r < 0.14:  # a broken body: the id may or may not survive, so no reply is claimed
        cut = rng.randint(0, len(body))
        body = rng.choice(
            [body[:cut], body[:cut] + b"\xff\xfe" + body[cut:], body.replace(b":", b"", 1), b"NaN"]
        )
        return frame(body), None
    if r < 0.18:  # broken framing: the reader resynchronises at the next header
        header = rng.choice(
            [
                b"Content-Length: 10000000000000\r\n\r\n",
                b"Content-Length: -1\r\n\r\n",
                b"Content-Length: 1e3\r\n\r\n",
                b"Content-Type: text/plain\r\n\r\n",
                b"junk line\r\nContent-Length: 2\r\n\r\n{}",
            ]
        )
        return header + body, None
    return frame(body), msg_id


def test_fuzz_frames_and_params(workspace: Path, tmp_path: Path) -> None:
    os.mkfifo(workspace / "pipe.py")
    (workspace.parent / "outside.py").write_text("secret = 1\n")
    rng = random.Random(SEED)
    fz = Fuzzer(rng, workspace)
    started = time.monotonic()
    sent_at: dict[int, float] = {}
    with RawServer() as srv:
        srv.initialize(workspace, tmp_path / "cache")
        frames = 0
        while frames < FRAMES:
            batch: list[bytes] = []
            expected: list[int] = []
            for _ in range(BATCH):
                data, msg_id = make_frame(fz)
                batch.append(data)
                if msg_id is not None:
                    expected.append(msg_id)
            frames += len(batch)
            now = time.monotonic()
            for msg_id in expected:
                sent_at[msg_id] = now
            srv.send(b"".join(batch))
            for msg_id in expected:
                srv.reply(msg_id, timeout=max(0.1, now + REPLY_WITHIN - time.monotonic()))
            assert time.monotonic() - started < TIME_BOUND, f"{frames} frames in {TIME_BOUND} s"
        srv.request("smartcache/stats", {})
        alive = srv.proc.poll() is None
        messages = list(srv.messages)
        arrivals = list(srv.arrivals)
    elapsed = time.monotonic() - started
    replies = [m for m in messages if "method" not in m]
    codes = [m["error"]["code"] for m in replies if "error" in m]
    slowest = max(arrivals[i] - sent_at[m["id"]] for i, m in enumerate(messages) if m.get("id") in sent_at)
    summary = {
        "frames": frames,
        "seconds": round(elapsed, 1),
        "replies": len(replies),
        "slowestReply": round(slowest, 3),
    }
    summary["codes"] = {str(c): codes.count(c) for c in sorted(set(codes))}
    print(json.dumps(summary))
    assert alive
    assert set(codes) <= INVALID | {CANCELLED}, summary  # no internal error (-32603) anywhere
    answers: dict[int, int] = {}
    for m in replies:
        if type(m.get("id")) is int:
            answers[m["id"]] = answers.get(m["id"], 0) + 1
    twice = {i: [m for m in replies if m.get("id") == i] for i in sent_at if answers.get(i) != 1}
    assert not twice, list(twice.items())[:3]
    assert slowest <= REPLY_WITHIN
    by_id = {m["id"]: m for m in replies if type(m.get("id")) is int}
    assert fz.must_refuse and all(by_id[i].get("error", {}).get("code") == -32600 for i in fz.must_refuse)
    assert not any("Traceback" in json.dumps(m) or 'File "' in json.dumps(m) for m in messages)
    assert b"Traceback" not in srv.stderr, srv.stderr.decode(errors="replace")[-3000:]
