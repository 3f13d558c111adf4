"""`smartcache-ls mcp` live with an editor: a real LSP server process (pytest-lsp, playing the editor)
and a real MCP server process on the same workspace and cache dir, linked by the local socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from smartcache_ls.content import content_hash
from smartcache_ls.mcp.link import LIVE_DIR, endpoint_name
from smartcache_ls.paths import path_to_uri

from .helpers import (
    LSP_COMMAND,
    call,
    change_doc,
    focus,
    lsp_request,
    mcp_session,
    open_doc,
    start_editor,
    stop_editor,
    until,
)


def _endpoint(cache_dir: Path, ws: Path) -> Path:
    return cache_dir / LIVE_DIR / endpoint_name(ws.resolve())


def _children() -> list[int]:
    """This test process's child processes (the editor's server, the MCP server)."""
    me = os.getpid()
    return [
        int(pid)
        for task in Path(f"/proc/{me}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]


def _inet_sockets(pid: int) -> set[str]:
    """The socket inodes of ``pid`` that are IP sockets (TCP or UDP, v4 or v6)."""
    mine = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                mine.add(target[len("socket:[") : -1])
    inet = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            inet.add(row.split()[9])
    return mine & inet


async def test_endpoint_is_private_and_removed_at_exit(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = set(_children())
    editor = await start_editor(workspace, cache)
    try:
        sock = _endpoint(cache, workspace)
        st = sock.lstat()
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert stat.S_IMODE((cache / LIVE_DIR).stat().st_mode) == 0o700
        async with mcp_session(workspace, cache) as session:
            assert (await call(session, "working_set"))["session"] == "editor"
            servers = set(_children()) - before  # the editor's server and the MCP server, linked
            assert len(servers) >= 2
            for pid in servers:  # no TCP (nor UDP): the link is the Unix socket alone
                assert _inet_sockets(pid) == set(), Path(f"/proc/{pid}/cmdline").read_text()
    finally:
        await stop_editor(editor)
    assert not sock.exists()


async def test_focus_change_reaches_working_set_within_a_second(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    editor = await start_editor(workspace, cache)
    try:
        async with mcp_session(workspace, cache) as session:
            first = await call(session, "working_set")
            assert first["session"] == "editor" and first["current"] is None
            for name in ("app.py", "util.py", "models.py"):
                open_doc(editor, workspace / name)
            for name in ("app.py", "util.py", "app.py", "models.py"):
                focus(editor, workspace / name)
                sent = time.monotonic()

                async def switched(name: str = name) -> bool:
                    return bool((await call(session, "working_set"))["current"] == name)

                assert await until(switched, timeout=1.0), name
                assert time.monotonic() - sent < 1.0
            working = await call(session, "working_set", k=3)
            assert working["files"][0] == {**working["files"][0], "path": "models.py", "role": "current"}
            assert "class Beta" in working["files"][0]["summary"]
            predicted = [f for f in working["files"] if f["role"] == "predicted"]
            assert predicted and all(0 < f["probability"] <= 1 and f["reasons"] for f in predicted)
            assert {d["path"] for d in working["open"]} == {"app.py", "util.py", "models.py"}
            # the agent's working_set summaries are not the developer's requests: the editor's hit
            # ratios do not count them
            before = (await lsp_request(editor, "smartcache/stats", {}))["requests"]["getAnalysis"]["count"]
            for _ in range(5):
                await call(session, "working_set", k=3)
            after = (await lsp_request(editor, "smartcache/stats", {}))["requests"]["getAnalysis"]["count"]
            assert after == before
            # the editor's own predictions agree with what the agent is told
            lsp = await lsp_request(
                editor, "smartcache/predict", {"uri": path_to_uri(workspace / "models.py")}
            )
            assert [(f["path"], f["reasons"]) for f in predicted] == [
                (Path(p["uri"].removeprefix("file://")).name, [r.strip() for r in p["reason"].split(";")])
                for p in lsp
                if not p["uri"].endswith("/models.py")
            ][: len(predicted)]  # the same files, named for the same signals
    finally:
        await stop_editor(editor)


async def test_unsaved_buffer_wins_for_the_editor_and_the_agent(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = workspace / "util.py"
    on_disk = target.read_text()
    editor = await start_editor(workspace, cache)
    try:
        async with mcp_session(workspace, cache) as session:
            assert (await call(session, "read_file", path="util.py"))["text"] == on_disk
            assert [s["name"] for s in (await call(session, "outline", path="util.py"))["symbols"]] == [
                "helper"
            ]
            open_doc(editor, target)
            edited = on_disk + "\n\ndef unsaved_helper():\n    return 42\n"
            change_doc(editor, target, edited)

            async def sees_buffer() -> bool:
                return bool((await call(session, "read_file", path="util.py"))["text"] == edited)

            assert await until(sees_buffer, timeout=1.0)
            read = await call(session, "read_file", path="util.py")
            assert (
                read["source"] == "editor"
                and read["unsaved"] is True
                and read["hash"] == content_hash(edited)
            )
            outline = await call(session, "outline", path="util.py")
            assert [s["name"] for s in outline["symbols"]] == ["helper", "unsaved_helper"]
            assert outline["hash"] == read["hash"]
            lsp = await lsp_request(editor, "smartcache/getFile", {"uri": path_to_uri(target)})
            assert lsp["text"] == edited and lsp["hash"] == read["hash"]
            resource = await session.read_resource("smartcache://file/util.py")
            assert resource.contents[0].text == edited
            assert target.read_text() == on_disk  # nothing was written
            working = await call(session, "working_set")
            assert {"path": "util.py", "unsaved": True} in working["open"]
    finally:
        await stop_editor(editor)


async def test_disk_edit_is_fresh_for_the_editor_and_the_agent(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = workspace / "models.py"
    uri = path_to_uri(target)
    editor = await start_editor(workspace, cache)
    try:
        async with mcp_session(workspace, cache) as session:
            before = await call(session, "outline", path="models.py")
            assert (await call(session, "outline", path="models.py"))["source"] == "memory"
            assert (await lsp_request(editor, "smartcache/getAnalysis", {"uri": uri}))["source"] == "memory"
            target.write_text("class Gamma:\n    pass\n")
            read = await call(session, "read_file", path="models.py")
            assert read["text"] == "class Gamma:\n    pass\n" and read["session"] == "editor"
            outline = await call(session, "outline", path="models.py")
            assert [s["name"] for s in outline["symbols"]] == ["Gamma"] and outline["hash"] != before["hash"]
            lsp = await lsp_request(editor, "smartcache/getAnalysis", {"uri": uri})
            assert [s["name"] for s in lsp["symbols"]] == ["Gamma"]
            assert (await call(session, "find_symbol", name="Gamma"))["matches"][0]["path"] == "models.py"
            assert (await call(session, "find_symbol", name="Beta"))["matches"] == []
    finally:
        await stop_editor(editor)


async def test_related_and_find_symbol_through_the_editor_session(workspace: Path, tmp_path: Path) -> None:
    """The agent's related/find_symbol are the editor's smartcache/related and findSymbol, and what
    the MCP server answers alone."""
    cache = tmp_path / "cache"
    async with mcp_session(workspace, tmp_path / "alone") as alone:
        standalone = {
            "models": await call(alone, "related", path="models.py"),
            "app": await call(alone, "related", path="app.py"),
            "found": await call(alone, "find_symbol", name="make_beta"),
        }
    editor = await start_editor(workspace, cache)
    try:
        async with mcp_session(workspace, cache) as session:
            models = await call(session, "related", path="models.py")
            app = await call(session, "related", path="app.py")
            found = await call(session, "find_symbol", name="make_beta")
            # the first call (related) is the one that finds the editor: it is labelled by who answered
            assert models["session"] == app["session"] == found["session"] == "editor"
            assert [e["path"] for e in models["usedBy"]] == ["app.py", "test_models.py"]
            assert [e["path"] for e in app["uses"]] == ["models.py", "util.py"]
            for live, alone_answer in zip((models, app, found), standalone.values(), strict=True):
                assert {**live.data, "session": None} == {**alone_answer.data, "session": None}
            lsp = await lsp_request(editor, "smartcache/related", {"uri": path_to_uri(workspace / "app.py")})
            names = [Path(e["uri"].removeprefix("file://")).name for e in lsp["uses"]]
            assert [
                {"path": n, "weight": e["weight"], "names": e["names"]}
                for n, e in zip(names, lsp["uses"], strict=True)
            ] == app["uses"]
            symbols = await lsp_request(editor, "smartcache/findSymbol", {"name": "make_beta"})
            assert (
                [(s["name"], s["kind"], Path(s["uri"].removeprefix("file://")).name) for s in symbols]
                == [(m["name"], m["kind"], m["path"]) for m in found["matches"]]
                == [("make_beta", "function", "models.py")]
            )
    finally:
        await stop_editor(editor)


async def test_editor_coming_and_going(workspace: Path, tmp_path: Path) -> None:
    """The MCP server answers alone, picks up an editor started later, and goes alone when it exits."""
    cache = tmp_path / "cache"
    async with mcp_session(workspace, cache) as session:
        assert (await call(session, "cache_stats"))["session"] == "standalone"
        editor = await start_editor(workspace, cache)
        try:
            open_doc(editor, workspace / "app.py", text="# edited in the editor\n")
            change_doc(editor, workspace / "app.py", "# edited in the editor\n")

            async def live_buffer() -> bool:
                read = await call(session, "read_file", path="app.py")
                return bool(read["session"] == "editor" and read["text"] == "# edited in the editor\n")

            assert await until(live_buffer, timeout=2.0)
        finally:
            await stop_editor(editor)
        # the first call after the editor exits finds it gone: labelled by who answered
        assert (await call(session, "related", path="app.py"))["session"] == "standalone"
        read = await call(session, "read_file", path="app.py")
        assert read["session"] == "standalone" and read["text"] == (workspace / "app.py").read_text()
        stats = await call(session, "cache_stats")
        assert stats["session"] == "standalone" and stats["freshness"]["whyStandalone"]


async def test_refusals_through_the_editor_session(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    (workspace / "link.py").symlink_to(outside)
    (workspace / ".env").write_text("API_KEY=hunter2\n")
    editor = await start_editor(workspace, cache)
    try:
        # the editor has the secret and the link open: its buffers are refused all the same
        open_doc(editor, workspace / ".env")
        open_doc(editor, workspace / "link.py")
        async with mcp_session(workspace, cache) as session:
            assert (await call(session, "working_set"))["session"] == "editor"
            for path, reason in {
                "../x.py": "outsideWorkspace",
                "link.py": "outsideWorkspace",
                ".env": "secret",
                "data.bin": "binary",
                "nope.py": "notFound",
            }.items():
                for tool in ("outline", "read_file", "related"):
                    answer = await call(session, tool, path=path)
                    assert answer.is_error and answer.reason == reason, (tool, path, answer.text)
                    assert answer.message
                    assert "hunter2" not in answer.text and str(tmp_path) not in answer.text
            working = await call(session, "working_set", k=20)
            named = {f["path"] for f in working["files"]} | {d["path"] for d in working["open"]}
            assert not named & {".env", "link.py"}, named
            assert (await call(session, "outline", path="app.py"))["session"] == "editor"
    finally:
        await stop_editor(editor)


async def test_truncation_through_the_editor_session(workspace: Path, tmp_path: Path) -> None:
    """maxTokens holds for answers from the editor's session, its unsaved buffer included."""
    cache = tmp_path / "cache"
    target = workspace / "big.py"
    target.write_text("X = 0\n")
    big = "".join(f"def function_{i}(a, b):\n    return a + b + {i}\n" for i in range(400))
    editor = await start_editor(workspace, cache)
    try:
        open_doc(editor, target)
        change_doc(editor, target, big)  # unsaved: on disk big.py is one line
        async with mcp_session(workspace, cache) as session:

            async def sees_buffer() -> bool:
                return bool((await call(session, "read_file", path="big.py"))["totalLines"] == 800)

            assert await until(sees_buffer, timeout=2.0)
            first = await call(session, "read_file", path="big.py", maxTokens=500)
            assert first["session"] == "editor" and first["unsaved"] is True
            assert first["truncated"] is True and len(first.text) <= 500 * 3
            assert first["omitted"]["nextStartLine"] == first["endLine"] + 1
            rest = await call(
                session, "read_file", path="big.py", startLine=first["endLine"] + 1, maxTokens=20_000
            )
            assert rest["truncated"] is False and first["text"] + rest["text"] == big
            outline = await call(session, "outline", path="big.py", maxTokens=300)
            assert outline["session"] == "editor" and outline["truncated"] is True
            assert 0 < len(outline["symbols"]) < 400 and len(outline.text) <= 300 * 3
            assert len(outline["symbols"]) + outline["omitted"]["symbols"] == 400
            working = await call(session, "working_set", k=20, maxTokens=200)
            assert working["session"] == "editor" and len(working.text) <= 200 * 3
            assert working["truncated"] is True and working["omitted"]
        assert target.read_text() == "X = 0\n"
    finally:
        await stop_editor(editor)


async def test_an_unsafe_live_dir_costs_the_link_not_the_editor(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / LIVE_DIR).mkdir(parents=True)
    (cache / LIVE_DIR).chmod(0o777)
    editor = await start_editor(workspace, cache)
    try:
        lsp = await lsp_request(editor, "smartcache/getFile", {"uri": path_to_uri(workspace / "app.py")})
        assert lsp["text"] == (workspace / "app.py").read_text()
        assert not _endpoint(cache, workspace).exists()
        async with mcp_session(workspace, cache) as session:
            read = await call(session, "read_file", path="app.py")
            assert read["session"] == "standalone" and read["text"] == lsp["text"]
            stats = await call(session, "cache_stats")
            assert "not a private directory" in stats["freshness"]["whyStandalone"]
    finally:
        await stop_editor(editor)


async def test_two_agents_and_a_second_workspace_folder(workspace: Path, tmp_path: Path) -> None:
    """Each folder of a multi-root editor session has its endpoint; two MCP servers share one."""
    cache = tmp_path / "cache"
    other = tmp_path / "other"
    other.mkdir()
    (other / "lib.py").write_text("def shared():\n    return 1\n")
    client = await ClientServerConfig(server_command=LSP_COMMAND).start()
    assert isinstance(client, LanguageClient)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim@v0.7.0"),
            workspace_folders=[
                types.WorkspaceFolder(uri=path_to_uri(workspace), name="ws"),
                types.WorkspaceFolder(uri=path_to_uri(other), name="other"),
            ],
            initialization_options={"cacheDir": str(cache)},
        )
    )
    try:
        open_doc(client, other / "lib.py")
        change_doc(client, other / "lib.py", "def shared():\n    return 2\n")
        open_doc(client, workspace / "app.py")
        async with mcp_session(workspace, cache) as first, mcp_session(workspace, cache) as second:
            a, b = await asyncio.gather(call(first, "working_set"), call(second, "outline", path="models.py"))
            assert a["session"] == b["session"] == "editor" and a["current"] == "app.py"
            assert [s["name"] for s in b["symbols"]] == ["Beta", "make_beta"]
            async with mcp_session(other, cache) as third:
                read = await call(third, "read_file", path="lib.py")
                assert read["session"] == "editor" and read["unsaved"] is True
                assert read["text"] == "def shared():\n    return 2\n"
                assert (await call(third, "read_file", path="../ws/app.py")).reason == "outsideWorkspace"
    finally:
        await client.shutdown_session()
        await client.stop()
