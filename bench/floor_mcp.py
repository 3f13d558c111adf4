"""The MCP floor: a server of the same SDK (``MCPServer``, stdio) with one no-op tool.

``bench/mcp_latency.py`` times smartcache-ls's tools against ``noop`` in the same run.
Like ours, the tool is a plain function (the SDK runs it on a worker thread) that
returns structured content plus the same JSON as text.

    python bench/floor_mcp.py             # MCP over stdio
"""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations

app: MCPServer[object] = MCPServer("floor", version="0")


@app.tool(annotations=ToolAnnotations(read_only_hint=True), description='Does nothing; answers {"ok": true}.')
def noop() -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text='{"ok":true}')], structured_content={"ok": True}
    )


if __name__ == "__main__":
    app.run("stdio")
