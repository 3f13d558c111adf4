"""``smartcache-ls mcp``: the MCP adapter (official ``mcp`` SDK 2.x, ``MCPServer``, stdio).

Like ``server.py`` for LSP, it only adapts a protocol: each tool checks its
arguments' types (the SDK validates them against the JSON schema it publishes),
asks the backend (the editor's live session, else a standalone engine) and
fits the answer to the token budget (:mod:`.tools`). Every tool is read-only.
Refusals (outside the workspace, secrets, binary, missing, ...) and bad
arguments are tool errors with a stable ``reason``; nothing raises through.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .. import __version__
from . import budget, tools
from .backend import Backend, ToolFailure

log = logging.getLogger(__name__)

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

INSTRUCTIONS = (
    "smartcache-ls knows what the developer is working on in this workspace: the file in focus in their "
    "editor, the files they are predicted to open next, and unsaved editor buffers. Start with "
    "working_set; read code with outline and read_file (the text as the editor has it). Paths are "
    "relative to the workspace root. Answers fit maxTokens; 'truncated' says when something was left out."
)

RelPath = Annotated[
    str,
    Field(
        description="File path relative to the workspace root, e.g. 'src/app.py'. Absolute paths, paths "
        "leaving the workspace and secrets (.env, keys, credentials) are refused.",
        min_length=1,
        max_length=4096,
    ),
]


def _tokens_doc(default: int) -> str:
    return (
        f"Token budget of the answer (estimated at {budget.CHARS_PER_TOKEN} characters a token, default "
        f"{default}, at most {budget.MAX_TOKENS}); anything left out is listed under 'omitted'."
    )


WorkingSetTokens = Annotated[
    int, Field(description=_tokens_doc(tools.WORKING_SET_TOKENS), ge=100, le=budget.MAX_TOKENS)
]
OutlineTokens = Annotated[
    int, Field(description=_tokens_doc(tools.OUTLINE_TOKENS), ge=100, le=budget.MAX_TOKENS)
]
ReadFileTokens = Annotated[
    int, Field(description=_tokens_doc(tools.READ_FILE_TOKENS), ge=100, le=budget.MAX_TOKENS)
]
Predicted = Annotated[int, Field(description="How many predicted files at most (default 5).", ge=1, le=20)]
RelatedK = Annotated[
    int, Field(description="How many files per direction at most (default 10).", ge=1, le=50)
]
MatchesK = Annotated[int, Field(description="How many matches at most (default 10).", ge=1, le=50)]


def _text(text: str, *, error: bool = False) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=error)


def _result(call: Callable[[], dict[str, Any] | str]) -> CallToolResult:
    """A tool's answer (plain data, or its JSON text already encoded) as one JSON text block, or a
    tool error ``reason: message``.

    No ``structuredContent`` beside it: the same JSON twice doubled what the agent may be
    charged for, and the SDK's validation of a nested structured result on both ends took
    longer than the whole call of a no-op tool (bench/mcp_latency.py).
    """
    try:
        value = call()
    except ToolFailure as exc:
        return _text(f"{exc.reason}: {exc.message}", error=True)
    except Exception:
        log.exception("tool failed")
        return _text("internal: the tool failed (see the server's log)", error=True)
    return _text(value if isinstance(value, str) else orjson.dumps(value).decode())


def build(backend: Backend) -> MCPServer[Any]:
    app: MCPServer[Any] = MCPServer(
        "smartcache-ls", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    @app.tool(
        annotations=READ_ONLY,
        description="The developer's working set: the file in focus in their editor now and the files they "
        "are predicted to open next, ranked. Each file has 'role' (current or predicted), 'probability', "
        "'reasons' (the signals behind the prediction: recent switches, imports, tests, git co-changes) "
        "and a one-line 'summary' (language, lines, imports, top-level names). 'open' lists the editor's "
        "open files ('unsaved': edited, not saved). 'session' is 'editor' when answered from the live "
        "editor.",
    )
    def working_set(
        k: Predicted = 5,
        maxTokens: WorkingSetTokens = tools.WORKING_SET_TOKENS,
    ) -> CallToolResult:
        return _result(lambda: tools.working_set_text(backend, k, maxTokens))

    @app.tool(
        annotations=READ_ONLY,
        description="Outline of one file: its symbols (name, kind, range as 1-based inclusive "
        "startLine/endLine for read_file, children), its imports, language, line count and content hash. "
        "Served from the cache when warm ('source'), always for the current content (editor buffer or disk).",
    )
    def outline(
        path: RelPath,
        maxTokens: OutlineTokens = tools.OUTLINE_TOKENS,
    ) -> CallToolResult:
        return _result(lambda: tools.outline_text(backend, path, maxTokens))

    @app.tool(
        annotations=READ_ONLY,
        description="Text of a file as the developer's editor has it: an unsaved editor buffer wins over the "
        "disk ('source': editor, 'unsaved': true). Optional 1-based inclusive startLine/endLine. 'hash' is "
        "the BLAKE2b-128 hex digest of the whole text. When the text exceeds maxTokens it is cut at a line "
        "boundary, 'truncated' is true and 'omitted.nextStartLine' says where to continue.",
    )
    def read_file(
        path: RelPath,
        startLine: Annotated[int | None, Field(description="First line, 1-based (default 1).", ge=1)] = None,
        endLine: Annotated[
            int | None, Field(description="Last line, inclusive (default: the end).", ge=1)
        ] = None,
        maxTokens: ReadFileTokens = tools.READ_FILE_TOKENS,
    ) -> CallToolResult:
        return _result(lambda: tools.read_file(backend, path, startLine, endLine, maxTokens))

    @app.tool(
        annotations=READ_ONLY,
        description="Files related to one file: 'uses' (the workspace files it imports or references) and "
        "'usedBy' (the files importing or referencing it), each with a 'weight' and the 'names' involved "
        "when known.",
    )
    def related(path: RelPath, k: RelatedK = 10) -> CallToolResult:
        return _result(lambda: tools.related(backend, path, k))

    @app.tool(
        annotations=READ_ONLY,
        description="Where a top-level name (class, function, constant, type, ...) is defined in the "
        "workspace: matches with 'path', 'kind' and 'range' (1-based inclusive lines). Exact, case-sensitive "
        "name; 'kind' narrows the search (e.g. 'class', 'function').",
    )
    def find_symbol(
        name: Annotated[
            str, Field(description="The exact name, e.g. 'Engine'.", min_length=1, max_length=256)
        ],
        kind: Annotated[str | None, Field(description="Only symbols of this kind.", max_length=64)] = None,
        k: MatchesK = 10,
    ) -> CallToolResult:
        return _result(lambda: tools.find_symbol(backend, name, kind, k))

    @app.tool(
        annotations=READ_ONLY,
        description="Cache statistics: per-tier hits, misses and hit ratios (memory, SQLite, Redis), request "
        "hit ratios, prefetch figures (issued, used, wasted, accuracy), the workspace's files and open or "
        "unsaved buffers, and how freshness is ensured ('session': editor when live with the editor).",
    )
    def cache_stats() -> CallToolResult:
        return _result(lambda: tools.cache_stats(backend))

    _resources(app, backend)
    return app


def _resource(call: Callable[[], str]) -> str:
    """A resource's text; a refusal is a resource error naming its reason (a missing file: not found)."""
    try:
        return call()
    except ToolFailure as exc:
        if exc.reason == "notFound":
            raise ResourceNotFoundError(f"{exc.reason}: {exc.message}") from None
        raise ResourceError(f"{exc.reason}: {exc.message}") from None


def _resources(app: MCPServer[Any], backend: Backend) -> None:
    """Resources for what a user attaches as context (an @-mention): a file as the editor has it,
    its outline, and the working set. The tools answer the same questions within a token budget."""

    @app.resource(
        "smartcache://file/{+path}",
        name="file",
        description="A workspace file's text as the developer's editor has it (an unsaved buffer wins).",
        mime_type="text/plain",
    )
    def file_resource(path: str) -> str:
        return _resource(lambda: str(backend.call("read_file", {"path": path})["text"]))

    @app.resource(
        "smartcache://outline/{+path}",
        name="outline",
        description="A workspace file's outline (symbols with 1-based lines, imports) as JSON.",
        mime_type="application/json",
    )
    def outline_resource(path: str) -> str:
        return _resource(lambda: tools.outline_text(backend, path, budget.MAX_TOKENS))

    @app.resource(
        "smartcache://working-set",
        name="working-set",
        description="The file in focus in the developer's editor and the files predicted next, as JSON.",
        mime_type="application/json",
    )
    def working_set_resource() -> str:
        return _resource(lambda: tools.working_set_text(backend, 10, budget.MAX_TOKENS))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartcache-ls mcp",
        description="Serve the developer's working set and the cache to AI assistants over MCP (stdio). "
        "Answers from the editor's smartcache-ls when one serves the same workspace, else alone.",
    )
    parser.add_argument(
        "--workspace",
        type=Path,
        default=Path("."),
        help="the workspace folder (default: the current directory)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="the cache dir the editor's server uses (default: the user cache dir)"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level",
    )
    return parser


def main(argv: list[str]) -> int:
    from ..cli import default_cache_dir, setup_logging

    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    root = Path(os.path.realpath(args.workspace))
    if not root.is_dir():
        log.error("--workspace %s is not a directory", args.workspace)
        return 2
    backend = Backend(root, args.cache_dir or default_cache_dir())
    try:
        build(backend).run("stdio")
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
    return 0
