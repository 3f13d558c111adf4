"""The wire on its own: framing and resynchronisation, envelope checks, params shapes, settings bounds."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types

from smartcache_ls.jsonrpc import messages, shapes
from smartcache_ls.jsonrpc.framing import FrameReader, FramingError
from smartcache_ls.settings import Settings

CLIENTS = Path(pytest_lsp.__file__).parent / "clients"


def read_all(data: bytes, chunk: int = 7, **limits: int) -> list[bytes | str]:
    """Every frame of ``data`` fed in chunks of ``chunk`` bytes; errors as their message."""
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    total_read = [0]

    async def read() -> bytes:
        if not chunks:
            return b""
        piece = chunks.pop(0)
        total_read[0] += len(piece)
        return piece

    async def run() -> list[bytes | str]:
        reader = FrameReader(read, **limits)
        out: list[bytes | str] = []
        while (item := await reader.next()) is not None:
            out.append(item.message if isinstance(item, FramingError) else item)
        return out

    return asyncio.run(run())


def fr(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096])
def test_frames_split_anywhere_are_read_whole(chunk: int) -> None:
    data = fr(b'{"a":1}') + b"Content-Type: x\r\n" + fr(b"[2]") + fr(b'"\xc3\xa9"')
    assert read_all(data, chunk) == [b'{"a":1}', b"[2]", b'"\xc3\xa9"']


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (b"Content-Length: 99999999999999\r\n\r\n{}", "above the limit"),
        (b"Content-Length: 100000000000000000000000\r\n\r\n{}", "not a byte count"),
        (b"Content-Length: -3\r\n\r\n{}", "not a byte count"),
        (b"Content-Length: 0x10\r\n\r\n{}", "not a byte count"),
        (b"Content-Length: 0\r\n\r\n", "empty body"),
        (b"Content-Type: a\r\n\r\n{}", "no Content-Length"),
        (b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "two different"),
        (b"garbage\r\n", "not a header line"),
        (b'{"stray":"body"}', "not a header line"),
    ],
)
def test_a_bad_header_is_one_error_and_the_next_frame_is_read(bad: bytes, says: str) -> None:
    out = read_all(bad + fr(b"[1]"))
    assert len(out) == 2 and says in str(out[0]) and out[1] == b"[1]", out


def test_an_oversized_body_within_the_skip_bound_is_skipped_exactly() -> None:
    body = b"Content-Length: 5\r\n\r\n" * 20  # looks like headers, is body: must not resynchronise on it
    out = read_all(fr(body) + fr(b"[1]"), 64, max_frame=100, max_skip=10_000)
    assert out[1:] == [b"[1]"] and "above the limit" in str(out[0])


def test_the_stream_ending_inside_a_frame_ends_reading() -> None:
    assert read_all(b"Content-Length: 10\r\n\r\n{}") == []
    assert read_all(b"Content-Length: 99999999999999\r\n\r\n{}")[1:] == []


def test_header_search_is_bounded() -> None:
    out = read_all(b"x" * 200_000 + fr(b"[1]"), 4096)
    assert out[-1] == b"[1]" and all(isinstance(o, str) for o in out[:-1]) and len(out) <= 3


@pytest.mark.parametrize(
    ("body", "code", "msg_id"),
    [
        (b"[1]", messages.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":1e400,"method":"m"}', messages.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":"\\ud800","method":"m"}', messages.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":3,"method":"\\ud800"}', messages.INVALID_REQUEST, 3),
        (b'{"jsonrpc":"2.0","id":3,"method":"m","result":1}', messages.INVALID_REQUEST, 3),
        (b'{"jsonrpc":"2.0","id":3,"result":1,"error":{}}', messages.INVALID_REQUEST, 3),
    ],
)
def test_envelope_refusals_carry_the_readable_id(body: bytes, code: int, msg_id: Any) -> None:
    message, _ = messages.decode(body)
    with pytest.raises(messages.Refusal) as info:
        messages.check_envelope(message)
    assert info.value.code == code and info.value.msg_id == msg_id


def test_decoding_is_strict_and_encoding_never_writes_non_json() -> None:
    for text in (b"NaN", b"[Infinity]", b"\xff", b"{", b""):
        with pytest.raises(messages.Refusal):
            messages.decode(text)
    value, clean = messages.decode(b'{"a":1e400,"b":"\\udc00"}')
    assert not clean and math.isinf(value["a"]) and messages.has_lone_surrogate(value)
    assert messages.encode({"x": math.inf, "y": math.nan}) == b'{"x":null,"y":null}'
    assert messages.encode({"big": 10**30}) == b'{"big":1000000000000000000000000000000}'


def test_shapes_follow_the_lsprotocol_types() -> None:
    folders = shapes.shape_of(types.DidChangeWorkspaceFoldersParams)
    with pytest.raises(shapes.ShapeError, match=r"event\.removed must be array"):
        shapes.check({"event": {"added": [], "removed": "x" * 70_000}}, folders)
    with pytest.raises(shapes.ShapeError, match="lacks the required field 'uri'"):
        shapes.check({"event": {"added": [{"name": "a"}], "removed": []}}, folders)
    shapes.check(
        {"event": {"added": [{"uri": "file:///a", "name": "a", "extra": [1]}], "removed": []}}, folders
    )
    change = shapes.shape_of(types.DidChangeTextDocumentParams)
    full = {"textDocument": {"uri": "u", "version": 1}, "contentChanges": [{"text": "x"}]}
    shapes.check(full, change)
    partial = {
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
        "text": "",
    }
    shapes.check({**full, "contentChanges": [partial]}, change)
    with pytest.raises(shapes.ShapeError, match="line must be integer"):
        bad = {
            "range": {"start": {"line": "0", "character": 0}, "end": {"line": 0, "character": 1}},
            "text": "",
        }
        shapes.check({**full, "contentChanges": [bad]}, change)
    init = shapes.shape_of(types.InitializeParams)  # LSPAny options take anything, within the bounds
    shapes.check({"capabilities": {}, "initializationOptions": {"a": [1, {"b": None}]}}, init)
    deep: Any = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(shapes.ShapeError, match="deeper than 64"):
        shapes.check({"capabilities": {}, "initializationOptions": deep}, init)
    with pytest.raises(shapes.ShapeError, match="more than"):
        shapes.check({"capabilities": {}, "initializationOptions": list(range(shapes.MAX_NODES + 1))}, init)


@pytest.mark.parametrize("client", sorted(CLIENTS.glob("*.json")), ids=lambda p: p.stem)
def test_real_clients_initialize_params_pass_the_shape_check(client: Path) -> None:
    """The capabilities of the editors pytest-lsp bundles (Neovim 0.9 sends empty tables as [])."""
    capabilities = json.loads(client.read_text())["capabilities"]
    params = {"processId": 1, "rootUri": "file:///w", "capabilities": capabilities}
    shapes.check(params, shapes.shape_of(types.InitializeParams))


def test_settings_clamp_what_is_too_large_and_refuse_what_is_not_a_number() -> None:
    settings, problems = Settings().merged(
        {
            "maxMemoryMB": 1e308,
            "maxDiskMB": math.inf,
            "maxFileKB": 10**9,
            "ttlSeconds": math.nan,
            "prefetch": {"topK": 10**30, "threshold": -1},
            "cacheDir": "a\x00b",
        }
    )
    assert settings.max_memory_mb == 1024 * 1024 and settings.max_disk_mb == 16 * 1024 * 1024
    assert settings.max_file_kb == 64 * 1024 and settings.prefetch.top_k == 100
    assert settings.ttl_seconds == Settings().ttl_seconds and settings.prefetch.threshold == 0.05
    assert settings.cache_dir is None
    assert len(problems) == 7, problems
    assert isinstance(settings.max_memory_bytes, int) and isinstance(settings.max_file_kb, int)
