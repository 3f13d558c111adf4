"""End to end: a real server process over a real stdio pipe, driven by pytest-lsp."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from smartcache_ls.engine import DB_NAME
from smartcache_ls.paths import path_to_uri
from smartcache_ls.protocol import plain

SERVER = [sys.executable, "-m", "smartcache_ls", "--log-level", "DEBUG"]


async def start(ws: Path, cache_dir: Path, **options: Any) -> LanguageClient:
    client = await ClientServerConfig(server_command=SERVER).start()
    assert isinstance(client, LanguageClient)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim@v0.7.0"),
            workspace_folders=[types.WorkspaceFolder(uri=path_to_uri(ws), name="ws")],
            initialization_options={"cacheDir": str(cache_dir), **options},
        )
    )
    return client


async def stop(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()


async def request(client: LanguageClient, method: str, params: Any) -> Any:
    return plain(await client.protocol.send_request_async(method, params))


def open_doc(client: LanguageClient, path: Path) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri=path_to_uri(path), language_id="python", version=1, text=path.read_text()
            )
        )
    )


def close_doc(client: LanguageClient, path: Path) -> None:
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(path_to_uri(path)))
    )


def focus(client: LanguageClient, path: Path) -> None:
    client.protocol.notify("smartcache/didFocus", {"uri": path_to_uri(path)})


async def until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


@pytest.fixture
async def session(workspace: Path, tmp_path: Path) -> Any:
    client = await start(workspace, tmp_path / "cache")
    yield client
    await stop(client)


async def test_learns_prefetches_and_serves_from_memory(session: LanguageClient, workspace: Path) -> None:
    app, util = workspace / "app.py", workspace / "util.py"
    open_doc(session, app)
    for _ in range(3):
        open_doc(session, util)
        close_doc(session, util)
        focus(session, app)

    ranked = await request(session, "smartcache/predict", {"uri": path_to_uri(app), "k": 3})
    assert ranked[0]["uri"] == path_to_uri(util)
    assert 0 < ranked[0]["probability"] <= 1
    assert "app.py" in ranked[0]["reason"]

    async def warmed() -> bool:
        stats = await request(session, "smartcache/stats", {})
        return bool(stats["prefetch"]["issued"] >= 1 and stats["prefetch"]["queued"] == 0)

    assert await until(warmed)
    analysis = await request(session, "smartcache/getAnalysis", {"uri": path_to_uri(util)})
    assert analysis["source"] == "memory"
    assert analysis["language"] == "python"
    assert [s["name"] for s in analysis["symbols"]] == ["helper"]
    assert analysis["symbols"][0]["kind"] == "function"
    stats = await request(session, "smartcache/stats", {})
    assert stats["prefetch"]["used"] >= 1
    assert stats["requests"]["getAnalysis"]["hits"] >= 1


async def test_get_analysis_symbols_and_sources(session: LanguageClient, workspace: Path) -> None:
    uri = path_to_uri(workspace / "models.py")
    first = await request(session, "smartcache/getAnalysis", {"uri": uri})
    assert first["source"] == "computed"
    names = [(s["name"], s["kind"]) for s in first["symbols"]]
    assert names == [("Beta", "class"), ("make_beta", "function")]
    assert [c["name"] for c in first["symbols"][0]["children"]] == ["run", "stop"]
    second = await request(session, "smartcache/getAnalysis", {"uri": uri})
    assert second["source"] == "memory"
    assert second["hash"] == first["hash"]
    text = await request(session, "smartcache/getAnalysis", {"uri": path_to_uri(workspace / "README.txt")})
    assert text["symbols"] == [] and text["lines"] == 3


async def test_external_edit_is_seen(session: LanguageClient, workspace: Path) -> None:
    target = workspace / "util.py"
    uri = path_to_uri(target)
    before = await request(session, "smartcache/getFile", {"uri": uri})
    assert before["source"] == "disk"
    assert (await request(session, "smartcache/getFile", {"uri": uri}))["source"] == "memory"
    target.write_text("def helper(x):\n    return x * 3\n\n\ndef other():\n    pass\n")
    after = await request(session, "smartcache/getFile", {"uri": uri})
    assert after["text"] == target.read_text()
    assert after["hash"] != before["hash"]
    analysis = await request(session, "smartcache/getAnalysis", {"uri": uri})
    assert [s["name"] for s in analysis["symbols"]] == ["helper", "other"]


async def test_watcher_invalidates_without_a_request(session: LanguageClient, workspace: Path) -> None:
    """The watcher drops entries of files changed on disk (external edit, checkout)."""

    async def indexed() -> bool:  # the watches are set up in the background after initialize
        stats = await request(session, "smartcache/stats", {})
        return bool(stats["workspaces"][0]["index"]["state"] == "ready")

    assert await until(indexed)
    uri = path_to_uri(workspace / "models.py")
    await request(session, "smartcache/getFile", {"uri": uri})

    async def entries() -> int:
        stats = await request(session, "smartcache/stats", {})
        return int(stats["tiers"]["memory"]["entries"])

    assert await entries() == 1
    (workspace / "models.py").write_text("class Gamma:\n    pass\n")
    assert await until(lambda: _zero(entries))
    again = await request(session, "smartcache/getFile", {"uri": uri})
    assert again["source"] == "disk" and "Gamma" in again["text"]


async def _zero(entries: Any) -> bool:
    return bool(await entries() == 0)


async def test_editor_text_wins_over_disk(session: LanguageClient, workspace: Path) -> None:
    path = workspace / "util.py"
    uri = path_to_uri(path)
    open_doc(session, path)
    session.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text="def unsaved():\n    pass\n")],
        )
    )
    served = await request(session, "smartcache/getFile", {"uri": uri})
    assert served["text"] == "def unsaved():\n    pass\n"
    analysis = await request(session, "smartcache/getAnalysis", {"uri": uri})
    assert [s["name"] for s in analysis["symbols"]] == ["unsaved"]
    close_doc(session, path)
    closed = await request(session, "smartcache/getAnalysis", {"uri": uri})
    assert [s["name"] for s in closed["symbols"]] == ["helper"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("../outside.py", "outside"),
        ("link-out.py", "outside"),
        ("data.bin", "binary"),
        ("pkg", "directory"),
        ("missing.py", "does not exist"),
        ("big.py", "above the limit"),
    ],
)
async def test_refusals_keep_the_server_serving(
    session: LanguageClient, workspace: Path, target: str, reason: str
) -> None:
    (workspace.parent / "outside.py").write_text("secret = 1\n")
    (workspace / "link-out.py").symlink_to(workspace.parent / "outside.py")
    (workspace / "big.py").write_text("x = 1\n" * 400_000)
    uri = path_to_uri(workspace) + "/" + target
    with pytest.raises(JsonRpcException) as info:
        await request(session, "smartcache/getFile", {"uri": uri})
    assert reason in str(info.value.message)
    assert info.value.code == -32803
    ok = await request(session, "smartcache/getFile", {"uri": path_to_uri(workspace / "util.py")})
    assert ok["text"].startswith("def helper")


MALFORMED = [
    ("smartcache/getFile", {}),
    ("smartcache/getFile", {"uri": 7}),
    ("smartcache/getFile", {"uri": "file:///x", "extra": 1}),
    ("smartcache/predict", {"k": "three"}),
    ("smartcache/predict", {"k": 0}),
    ("smartcache/prefetch", {"uris": "file:///x"}),
    ("smartcache/clear", {"scope": "everything"}),
    ("smartcache/getAnalysis", ["not", "an", "object"]),
    ("smartcache/getFile", {"uri": "http://example.invalid/x.py"}),
    ("smartcache/stats", {"unexpected": True}),
]


async def test_malformed_params_get_json_rpc_errors(session: LanguageClient) -> None:
    for method, params in MALFORMED:
        with pytest.raises(JsonRpcException) as info:
            await request(session, method, params)
        assert info.value.code in (-32602, -32803), (method, params)
    stats = await request(session, "smartcache/stats", {})
    assert stats["version"]


async def test_restart_keeps_model_and_sqlite_entries(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    a, b = workspace / "app.py", workspace / "models.py"
    client = await start(workspace, cache)
    open_doc(client, a)
    open_doc(client, b)
    for _ in range(3):
        focus(client, a)
        focus(client, b)
    await request(client, "smartcache/getAnalysis", {"uri": path_to_uri(workspace / "util.py")})
    await stop(client)

    client = await start(workspace, cache)
    try:
        ranked = await request(client, "smartcache/predict", {"uri": path_to_uri(a), "k": 2})
        assert ranked and ranked[0]["uri"] == path_to_uri(b)
        stored = await request(client, "smartcache/getAnalysis", {"uri": path_to_uri(workspace / "util.py")})
        assert stored["source"] == "sqlite"
        again = await request(client, "smartcache/getAnalysis", {"uri": path_to_uri(workspace / "util.py")})
        assert again["source"] == "memory"
    finally:
        await stop(client)


async def test_clear_and_explicit_prefetch(session: LanguageClient, workspace: Path) -> None:
    uris = [path_to_uri(workspace / n) for n in ("app.py", "models.py")]
    queued = await request(session, "smartcache/prefetch", {"uris": uris})
    assert queued["queued"] == 2

    async def done() -> bool:
        stats = await request(session, "smartcache/stats", {})
        return bool(stats["prefetch"]["queued"] == 0 and stats["tiers"]["memory"]["entries"] >= 4)

    assert await until(done)
    assert (await request(session, "smartcache/getFile", {"uri": uris[0]}))["source"] == "memory"
    assert (await request(session, "smartcache/clear", {"scope": "memory"}))["cleared"] is True
    assert (await request(session, "smartcache/getFile", {"uri": uris[0]}))["source"] == "sqlite"
    await request(session, "smartcache/clear", {"scope": "all"})
    assert (await request(session, "smartcache/getFile", {"uri": uris[0]}))["source"] == "disk"


async def test_configuration_and_folder_changes(
    session: LanguageClient, workspace: Path, tmp_path: Path
) -> None:
    big = workspace / "medium.py"
    big.write_text("x = 1\n" * 400)  # 2.4 KB: under the default limit, above 1 KB
    assert (await request(session, "smartcache/getFile", {"uri": path_to_uri(big)}))["source"] == "disk"
    session.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"smartcache": {"maxFileKB": 1}})
    )
    with pytest.raises(JsonRpcException) as info:
        await request(session, "smartcache/getFile", {"uri": path_to_uri(big)})
    assert "above the limit" in info.value.message

    other = tmp_path / "other"
    other.mkdir()
    (other / "x.py").write_text("x = 1\n")
    uri = path_to_uri(other / "x.py")
    with pytest.raises(JsonRpcException):
        await request(session, "smartcache/getFile", {"uri": uri})
    session.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=path_to_uri(other), name="other")], removed=[]
            )
        )
    )
    assert (await request(session, "smartcache/getFile", {"uri": uri}))["text"] == "x = 1\n"
    stats = await request(session, "smartcache/stats", {})
    assert {w["name"] for w in stats["workspaces"]} == {"ws", "other"}


async def test_corrupt_cache_file_is_set_aside(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / DB_NAME).write_bytes(b"this is not a database" * 100)
    client = await start(workspace, cache)
    try:
        served = await request(client, "smartcache/getFile", {"uri": path_to_uri(workspace / "util.py")})
        assert served["source"] == "disk"
        aside = [p.name for p in cache.iterdir() if ".corrupt-" in p.name]
        assert aside, list(cache.iterdir())
    finally:
        await stop(client)
