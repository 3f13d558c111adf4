"""Shared by the MCP tests: a real ``smartcache-ls mcp`` process driven by the SDK's own stdio client,
and a real LSP server process (pytest-lsp) on the same workspace and cache dir, playing the editor."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types
from mcp import ClientSession, StdioServerParameters, stdio_client
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from smartcache_ls.paths import path_to_uri
from smartcache_ls.protocol import plain

MCP_COMMAND = [sys.executable, "-m", "smartcache_ls", "mcp"]
LSP_COMMAND = [sys.executable, "-m", "smartcache_ls", "--log-level", "DEBUG"]


@asynccontextmanager
async def mcp_session(ws: Path, cache_dir: Path, *extra: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=MCP_COMMAND[0],
        args=[*MCP_COMMAND[1:], "--workspace", str(ws), "--cache-dir", str(cache_dir), *extra],
        env={k: v for k, v in os.environ.items() if k.startswith(("PYTHON", "VIRTUAL_ENV"))},
    )
    async with stdio_client(params) as streams, ClientSession(*streams) as session:
        await session.initialize()
        yield session


class ToolAnswer:
    """One tool result: JSON text, or an error ``reason: message``."""

    def __init__(self, result: Any) -> None:
        assert len(result.content) == 1 and result.content[0].type == "text"
        self.is_error = bool(result.is_error)
        self.text: str = result.content[0].text
        self.data: dict[str, Any] = {} if self.is_error else json.loads(self.text)

    @property
    def reason(self) -> str | None:
        return self.text.partition(":")[0] if self.is_error else None

    @property
    def message(self) -> str:
        return self.text.partition(": ")[2]

    def __getitem__(self, key: str) -> Any:
        assert not self.is_error, self.text
        return self.data[key]


async def call(session: ClientSession, tool: str, **args: Any) -> ToolAnswer:
    return ToolAnswer(await session.call_tool(tool, args))


async def start_editor(ws: Path, cache_dir: Path) -> LanguageClient:
    client = await ClientServerConfig(server_command=LSP_COMMAND).start()
    assert isinstance(client, LanguageClient)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim@v0.7.0"),
            workspace_folders=[types.WorkspaceFolder(uri=path_to_uri(ws), name="ws")],
            initialization_options={"cacheDir": str(cache_dir)},
        )
    )
    # The engine and its live endpoint come up just after the initialize reply: a first request
    # is answered once they are.
    await client.protocol.send_request_async("smartcache/stats", {})
    return client


async def stop_editor(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()


def open_doc(client: LanguageClient, path: Path, text: str | None = None) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri=path_to_uri(path),
                language_id="python",
                version=1,
                text=path.read_text() if text is None else text,
            )
        )
    )


def change_doc(client: LanguageClient, path: Path, text: str, version: int = 2) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path_to_uri(path), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def focus(client: LanguageClient, path: Path) -> None:
    client.protocol.notify("smartcache/didFocus", {"uri": path_to_uri(path)})


async def lsp_request(client: LanguageClient, method: str, params: Any) -> Any:
    return plain(await client.protocol.send_request_async(method, params))


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)
