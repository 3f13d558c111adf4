"""`smartcache-ls mcp` with no editor running: a real MCP server process, the SDK's stdio client."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import MCPError

from smartcache_ls.content import content_hash
from smartcache_ls.engine import Engine
from smartcache_ls.paths import path_to_uri
from smartcache_ls.settings import Settings

from .helpers import MCP_COMMAND, call, mcp_session

TOOLS = {"working_set", "outline", "read_file", "related", "find_symbol", "cache_stats"}


async def test_tools_are_listed_read_only_with_schemas(workspace: Path, tmp_path: Path) -> None:
    async with mcp_session(workspace, tmp_path / "cache") as session:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(listed) == TOOLS
    for name, tool in listed.items():
        assert tool.annotations is not None and tool.annotations.read_only_hint is True, name
        assert tool.annotations.destructive_hint is False, name
        assert len(tool.description or "") > 80, name
        schema = tool.input_schema
        assert schema["type"] == "object"
        tokens = schema["properties"].get("maxTokens")
        if tokens is not None:  # every tool returning text has a budget well under 25,000 tokens
            assert tokens["default"] <= 10_000 and tokens["maximum"] <= 20_000, name
    for name in ("outline", "read_file"):
        assert "maxTokens" in listed[name].input_schema["properties"]
        assert listed[name].input_schema["required"] == ["path"]
    assert listed["find_symbol"].input_schema["required"] == ["name"]
    assert set(listed["read_file"].input_schema["properties"]) == {
        "path",
        "startLine",
        "endLine",
        "maxTokens",
    }
    assert set(listed["working_set"].input_schema["properties"]) == {"k", "maxTokens"}


async def test_each_tool_on_the_sample_workspace(workspace: Path, tmp_path: Path) -> None:
    async with mcp_session(workspace, tmp_path / "cache") as session:
        outline = await call(session, "outline", path="models.py")
        assert outline["session"] == "standalone" and outline["language"] == "python"
        assert [(s["name"], s["kind"]) for s in outline["symbols"]] == [
            ("Beta", "class"),
            ("make_beta", "function"),
        ]
        beta = outline["symbols"][0]
        assert beta["range"] == {"startLine": 1, "endLine": 6}
        assert [c["name"] for c in beta["children"]] == ["run", "stop"]
        assert outline["truncated"] is False
        assert (await call(session, "outline", path="app.py"))["imports"] == ["models", "util"]

        text = (workspace / "app.py").read_text()
        read = await call(session, "read_file", path="app.py")  # outline read it already
        assert read["text"] == text and read["hash"] == content_hash(text)
        assert read["source"] == "memory" and read["unsaved"] is False and read["totalLines"] == 6
        part = await call(session, "read_file", path="models.py", startLine=2, endLine=3)
        assert part["text"] == "    def run(self):\n        return 1\n"
        assert (part["startLine"], part["endLine"], part["truncated"]) == (2, 3, False)

        related = await call(session, "related", path="models.py")
        assert [e["path"] for e in related["usedBy"]] == ["app.py", "test_models.py"]
        uses = await call(session, "related", path="app.py")
        assert [e["path"] for e in uses["uses"]] == ["models.py", "util.py"]

        found = await call(session, "find_symbol", name="make_beta")
        assert found["matches"] == [
            {
                "name": "make_beta",
                "kind": "function",
                "path": "models.py",
                "range": {"startLine": 9, "endLine": 10},
            }
        ]
        assert (await call(session, "find_symbol", name="Beta", kind="function"))["matches"] == []
        assert (await call(session, "find_symbol", name="run"))["matches"] == []  # a method is not top-level

        stats = await call(session, "cache_stats")
        assert stats["session"] == "standalone"
        assert stats["tiers"]["memory"]["hits"] >= 1 and "sqlite" in stats["tiers"]
        assert stats["requests"]["getAnalysis"]["count"] >= 2
        assert stats["freshness"]["editorBuffers"] is False

        working = await call(session, "working_set")
        assert working["session"] == "standalone" and working["truncated"] is False


async def test_disk_edit_is_never_served_stale(workspace: Path, tmp_path: Path) -> None:
    target = workspace / "util.py"
    async with mcp_session(workspace, tmp_path / "cache") as session:
        before = await call(session, "read_file", path="util.py")
        assert [s["name"] for s in (await call(session, "outline", path="util.py"))["symbols"]] == ["helper"]
        again = await call(session, "outline", path="util.py")
        assert again["source"] == "memory"
        target.write_text("def helper(x):\n    return x * 3\n\n\ndef other():\n    pass\n")
        after = await call(session, "read_file", path="util.py")
        assert after["text"] == target.read_text() and after["hash"] != before["hash"]
        outline = await call(session, "outline", path="util.py")
        assert [s["name"] for s in outline["symbols"]] == ["helper", "other"]
        assert outline["hash"] == after["hash"]


async def test_truncation_is_explicit_and_within_budget(workspace: Path, tmp_path: Path) -> None:
    lines = [f"def function_{i}(a, b):\n    return a + b + {i}\n" for i in range(400)]
    (workspace / "big.py").write_text("".join(lines))
    async with mcp_session(workspace, tmp_path / "cache") as session:
        first = await call(session, "read_file", path="big.py", maxTokens=500)
        assert first["truncated"] is True and first["totalLines"] == 800
        assert len(first.text) <= 500 * 3
        assert first["text"].endswith("\n")  # cut at a line boundary
        next_line = first["omitted"]["nextStartLine"]
        assert next_line == first["endLine"] + 1
        assert first["omitted"]["lines"] == 800 - first["endLine"]
        rest = await call(session, "read_file", path="big.py", startLine=next_line, maxTokens=20_000)
        assert rest["truncated"] is False
        assert first["text"] + rest["text"] == (workspace / "big.py").read_text()

        outline = await call(session, "outline", path="big.py", maxTokens=300)
        assert outline["truncated"] is True
        assert len(outline["symbols"]) + outline["omitted"]["symbols"] == 400
        assert 0 < len(outline["symbols"]) < 400 and len(outline.text) <= 300 * 3
        whole = await call(session, "outline", path="big.py", maxTokens=20_000)
        assert whole["truncated"] is False and len(whole["symbols"]) == 400

        (workspace / "min.js").write_text("var a=" + "1+" * 5000 + "1;\n")
        cut = await call(session, "read_file", path="min.js", maxTokens=200)
        assert cut["truncated"] is True and cut["omitted"]["charactersOfLine"] > 0
        assert len(cut["text"]) > 0 and len(cut.text) <= 200 * 3


async def test_refusals_are_clear_tool_errors(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    os.symlink(outside, workspace / "link.py")
    async with mcp_session(workspace, tmp_path / "cache") as session:
        cases = {
            "../outside.py": "outsideWorkspace",
            "link.py": "outsideWorkspace",
            "/etc/passwd": "invalidParams",
            "data.bin": "binary",
            "pkg": "isDirectory",
            "missing.py": "notFound",
        }
        for path, reason in cases.items():
            answer = await call(session, "read_file", path=path)
            assert answer.is_error and answer.reason == reason, (path, answer.text)
            assert str(tmp_path) not in answer.text  # nothing outside the workspace is named
            assert (await call(session, "outline", path=path)).reason == reason
        past = await call(session, "read_file", path="app.py", startLine=50)
        assert past.reason == "invalidParams" and "6 lines" in past.text
        for tool, args in [
            ("read_file", {"path": "app.py", "maxTokens": 5}),
            ("read_file", {}),
            ("working_set", {"k": 0}),
            ("find_symbol", {"name": ""}),
        ]:
            answer = await call(session, tool, **args)
            assert answer.is_error, (tool, args)
        # still serving
        assert (await call(session, "read_file", path="util.py"))["text"].startswith("def helper")


async def test_secrets_are_refused(workspace: Path, tmp_path: Path) -> None:
    (workspace / ".env").write_text("API_KEY=hunter2\n")
    async with mcp_session(workspace, tmp_path / "cache") as session:
        for tool in ("read_file", "outline", "related"):
            answer = await call(session, tool, path=".env")
            assert answer.is_error and answer.reason == "secret", answer.text
            assert "hunter2" not in answer.text
        with pytest.raises(MCPError, match="secret"):
            await session.read_resource("smartcache://file/.env")


def test_stdout_carries_only_json_rpc_and_bad_input_is_answered(workspace: Path, tmp_path: Path) -> None:
    def request(msg_id: int, method: str, params: object) -> str:
        return json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}) + "\n"

    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
    lines = [
        request(1, "initialize", init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n",
        "not json at all\n",
        request(2, "tools/call", {"name": "read_file", "arguments": "not an object"}),
        request(3, "tools/call", {"name": "read_file", "arguments": {"path": 123}}),
        request(4, "tools/call", {"name": "no_such_tool", "arguments": {}}),
        request(5, "tools/call", {"name": "outline", "arguments": {"path": "app.py"}}),
    ]
    command = [*MCP_COMMAND, "--workspace", str(workspace), "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("".join(lines))
        proc.stdin.flush()
        answers: dict[int, Any] = {}
        while len(answers) < 5:
            line = proc.stdout.readline()
            assert line, "the server closed stdout"
            message = json.loads(line)  # every line on stdout is one JSON-RPC message
            assert message["jsonrpc"] == "2.0"
            answers[message["id"]] = message
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert answers[1]["result"]["serverInfo"]["name"] == "smartcache-ls"
    assert answers[2]["error"]["code"] == -32602
    for msg_id in (3, 4):
        assert answers[msg_id]["result"]["isError"] is True
    outline = json.loads(answers[5]["result"]["content"][0]["text"])
    assert [s["name"] for s in outline["symbols"]] == ["main"]


def test_a_bad_workspace_is_refused(tmp_path: Path) -> None:
    missing = subprocess.run(
        [*MCP_COMMAND, "--workspace", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2 and missing.stdout == "" and "not a directory" in missing.stderr


async def test_resources_for_attaching_files_outlines_and_the_working_set(
    workspace: Path, tmp_path: Path
) -> None:
    async with mcp_session(workspace, tmp_path / "cache") as session:
        templates = {t.uri_template for t in (await session.list_resource_templates()).resource_templates}
        assert templates == {"smartcache://file/{+path}", "smartcache://outline/{+path}"}
        assert [str(r.uri) for r in (await session.list_resources()).resources] == [
            "smartcache://working-set"
        ]
        text = (await session.read_resource("smartcache://file/models.py")).contents[0]
        assert text.text == (workspace / "models.py").read_text() and text.mime_type == "text/plain"
        outline = json.loads((await session.read_resource("smartcache://outline/models.py")).contents[0].text)
        assert [s["name"] for s in outline["symbols"]] == ["Beta", "make_beta"]
        working = json.loads((await session.read_resource("smartcache://working-set")).contents[0].text)
        assert working["session"] == "standalone"
        for uri in (
            "smartcache://file/data.bin",
            "smartcache://file/missing.py",
            "smartcache://file/../x.py",
        ):
            with pytest.raises(MCPError):
                await session.read_resource(uri)
        assert (
            (await session.read_resource("smartcache://file/util.py"))
            .contents[0]
            .text.startswith("def helper")
        )


async def test_a_standalone_session_leaves_the_editors_statistics(workspace: Path, tmp_path: Path) -> None:
    """`smartcache-ls stats` shows the last editor session's statistics, not an MCP server's own."""
    from smartcache_ls.inspect import collect

    cache = tmp_path / "cache"
    editor = Engine(Settings(), cache, watch=False)
    editor.add_folder(path_to_uri(workspace))
    editor.get_file(path_to_uri(workspace / "util.py"))
    editor.close()
    before = collect(cache)["lastSession"]
    assert before["requests"]["getFile"]["count"] == 1
    async with mcp_session(workspace, cache) as session:
        for path in ("app.py", "models.py", "util.py"):
            assert not (await session.call_tool("read_file", {"path": path})).is_error
    after = collect(cache)["lastSession"]
    assert after == before
