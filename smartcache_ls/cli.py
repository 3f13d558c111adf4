"""Command line: ``smartcache-ls`` serves LSP; subcommands replay, evaluate and inspect.

    smartcache-ls [--tcp HOST:PORT [--allow-remote]] [--cache-dir DIR] [--log-level LEVEL]
    smartcache-ls replay [TRACE] [--workspace DIR] ...      (the demo: prefetch on vs off)
    smartcache-ls evaluate TRACE... [--k 1,3,5] [--json]      (prediction quality, offline)
    smartcache-ls stats [--cache-dir DIR] [--json]            (what a cache dir holds)
    smartcache-ls mcp [--workspace DIR] [--cache-dir DIR]     (MCP over stdio, for AI assistants)

Only the subcommands print to stdout. The server keeps stdout for JSON-RPC
alone: file descriptor 1 is moved aside for the protocol and pointed at
stderr, so even a dependency that prints (from Python or C) cannot corrupt
the stream.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .server import SmartCacheServer

SUBCOMMANDS = ("serve", "replay", "evaluate", "stats", "mcp")
# The server's GIL hand-off interval (Python's default is 5 ms). An editor message crosses
# three threads (stdin reader, event loop, stdout writer) and each waits for the GIL while
# background work (indexing, the graph, the workers' routing) holds it: at 5 ms a probe of
# the loop took up to 80-115 ms on a 100k-file tree while it was indexed, at 1 ms 40-50 ms.
SWITCH_INTERVAL = 0.001


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("smartcache-ls", appauthor=False))


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartcache-ls",
        description="A predictive cache inside the editor: a language server that prefetches "
        "the files you are about to open. Speaks LSP over stdio unless --tcp is given. "
        f"Subcommands: {', '.join(SUBCOMMANDS[1:])} (see 'smartcache-ls SUBCOMMAND --help').",
    )
    parser.add_argument("--version", action="version", version=f"smartcache-ls {__version__}")
    parser.add_argument("--stdio", action="store_true", help="speak LSP over stdio (the default)")
    parser.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="listen on TCP instead of stdio: one client at a time, no authentication, loopback only "
        "unless --allow-remote is given",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --tcp bind an address other than loopback (anyone who can reach it gets the session)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="where the SQLite cache lives (default: the user cache dir)"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level for stderr (default WARNING; editors often show stderr as errors)",
    )
    parser.add_argument("--no-watch", action="store_true", help="do not watch workspace folders")
    return parser


def setup_logging(level: str) -> None:
    from .redact import MaskingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())  # no credential reaches stderr
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("smartcache_ls").setLevel(level)


def _import_server() -> Callable[..., SmartCacheServer]:
    """Import the protocol stack (young collections only, then frozen: heap.frozen_imports),
    give what the imports freed back to the OS and cap the allocator's arenas, before any
    thread runs."""
    from .heap import frozen_imports, limit_malloc_arenas, return_free_memory

    with frozen_imports():
        from .server import build_server
    return_free_memory()
    limit_malloc_arenas()
    return build_server


def serve(argv: list[str]) -> int:
    args = _serve_parser().parse_args(argv)
    setup_logging(args.log_level)
    sys.setswitchinterval(SWITCH_INTERVAL)
    cache_dir = args.cache_dir or default_cache_dir()
    host = port = None
    if args.tcp:
        host, _, port_text = args.tcp.rpartition(":")
        if not host or not port_text.isdigit():
            print(f"smartcache-ls: --tcp wants HOST:PORT, got {args.tcp!r}", file=sys.stderr)
            return 2
        port = int(port_text)
        host = host.removeprefix("[").removesuffix("]")
        if not args.allow_remote and not _loopback(host):
            print(
                f"smartcache-ls: --tcp binds loopback only ({host!r} is not); pass --allow-remote to "
                "serve other machines (there is no authentication)",
                file=sys.stderr,
            )
            return 2
    rpc_out = None
    if host is None:
        # Keep the real stdout for JSON-RPC only; everything else written to fd 1 goes to stderr.
        rpc_out = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    build_server = _import_server()
    server = build_server(cache_dir, watch=not args.no_watch)
    try:
        if host is not None and port is not None:
            server.start_tcp(host, port)
        else:
            server.start_io(sys.stdin.buffer, rpc_out)
    finally:
        server.close_engine()
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "serve"
    rest = argv[1:] if argv and argv[0] in SUBCOMMANDS else argv
    if command == "serve":
        return serve(rest)
    if command == "replay":
        from .replay import main as replay_main

        return replay_main(rest)
    if command == "mcp":
        try:
            from .mcp.server import main as mcp_main
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith(("mcp", "pydantic", "anyio")):
                raise
            print(
                f"smartcache-ls mcp needs the MCP SDK ({exc.name} is missing): "
                "pip install 'smartcache-ls[mcp]'",
                file=sys.stderr,
            )
            return 2
        return mcp_main(rest)
    if command == "evaluate":
        from .predict.evaluate import main as evaluate_main

        return evaluate_main(rest)
    from .inspect import main as inspect_main

    return inspect_main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
