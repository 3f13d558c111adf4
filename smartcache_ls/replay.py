"""``smartcache-ls replay``: drive a real server over stdio with a recorded session.

The replay acts as an editor extension would: it opens each file of the trace
(``didOpen`` the first time, ``smartcache/didFocus`` after), asks
``smartcache/getAnalysis`` for it and times the answer on the client side.
It runs the session twice, with prefetch on and off, each against a fresh
server and a fresh cache directory, and prints the two side by side.

Real developers spend seconds between switches; ``--think-ms`` is the pause
given to the server between events (the prefetcher works during it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .paths import path_to_uri
from .predict.traces import TraceEvent, TraceFormatError, read_trace
from .rpc_client import StdioRpcClient

DEMO_DIR = Path(__file__).parent / "demo"
DEFAULT_TRACE = DEMO_DIR / "session.jsonl"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartcache-ls replay",
        description="Replay a recorded editing session against a real server, prefetch on vs off.",
    )
    parser.add_argument("trace", nargs="?", type=Path, default=DEFAULT_TRACE, help="JSON-lines trace")
    parser.add_argument(
        "--workspace",
        type=Path,
        help="folder the trace's paths are relative to (default: the trace header's 'workspace', "
        "where 'package' means this package's own source tree)",
    )
    parser.add_argument("--think-ms", type=float, default=100.0, help="pause between events (default 100)")
    parser.add_argument("--mode", choices=["both", "on", "off"], default="both")
    parser.add_argument("--top-k", type=int, default=5, help="prefetch.topK for the on run")
    parser.add_argument("--limit", type=int, default=0, help="replay only the first N events")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--server-log-level", default="WARNING")
    return parser


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_session(
    workspace: Path, events: list[TraceEvent], *, prefetch: bool, top_k: int, think: float, log_level: str
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="smartcache-replay-") as cache_dir:
        client = await StdioRpcClient.start(
            sys.executable, "-m", "smartcache_ls", "--cache-dir", cache_dir, "--log-level", log_level,
            echo_stderr=True,
        )
        root_uri = path_to_uri(workspace)
        await client.request(
            "initialize",
            {
                "processId": os.getpid(),
                "capabilities": {},
                "rootUri": root_uri,
                "workspaceFolders": [{"uri": root_uri, "name": workspace.name}],
                "initializationOptions": {"prefetch": {"enabled": prefetch, "topK": top_k}},
            },
        )
        client.notify("initialized", {})
        opened: dict[str, int] = {}
        latencies: list[float] = []
        sources: dict[str, int] = {}
        session = None
        for done, event in enumerate(events, 1):
            rel = event.path
            uri = path_to_uri(workspace / rel)
            if event.session != session:
                for old in opened:
                    client.notify("textDocument/didClose", {"textDocument": {"uri": old}})
                opened.clear()
                session = event.session
            path = workspace / rel
            if not path.is_file():
                continue
            if event.event == "edit" and uri in opened:
                opened[uri] += 1
                text = path.read_text(encoding="utf-8") + "\n" * opened[uri]
                client.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": opened[uri]},
                        "contentChanges": [{"text": text}],
                    },
                )
            else:
                if uri in opened:
                    client.notify("smartcache/didFocus", {"uri": uri})
                else:
                    opened[uri] = 0
                    item = {
                        "uri": uri,
                        "languageId": "",
                        "version": 0,
                        "text": path.read_text(encoding="utf-8"),
                    }
                    client.notify("textDocument/didOpen", {"textDocument": item})
                start = time.perf_counter()
                result = await client.request("smartcache/getAnalysis", {"uri": uri})
                latencies.append((time.perf_counter() - start) * 1000)
                source = str(result.get("source", "?"))
                sources[source] = sources.get(source, 0) + 1
            if done % 50 == 0:
                mode = "on" if prefetch else "off"
                print(f"  replay ({mode}): {done}/{len(events)} events", file=sys.stderr)
            await asyncio.sleep(think)
        stats = await client.request("smartcache/stats", {})
        await client.close()
    hits = sum(n for s, n in sources.items() if s in ("memory", "sqlite", "redis"))
    opens = len(latencies)
    tiers = stats.get("tiers", {})
    pre = stats.get("prefetch", {})
    return {
        "prefetch": prefetch,
        "opens": opens,
        "sources": sources,
        "hitRate": hits / opens if opens else 0.0,
        "prefetchIssued": pre.get("issued", 0),
        "prefetchUsed": pre.get("used", 0),
        "prefetchAccuracy": pre.get("accuracy", 0.0),
        "p50ms": percentile(latencies, 50),
        "p99ms": percentile(latencies, 99),
        "meanMs": statistics.fmean(latencies) if latencies else 0.0,
        "memoryBytes": tiers.get("memory", {}).get("bytes", 0),
        "sqliteBytes": tiers.get("sqlite", {}).get("bytes", 0),
    }


def format_table(results: list[dict[str, Any]]) -> str:
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("opens", lambda r: f"{r['opens']}"),
        ("analysis cache hit rate", lambda r: f"{r['hitRate'] * 100:.1f}%"),
        ("prefetches issued", lambda r: f"{r['prefetchIssued']}"),
        ("prefetch accuracy", lambda r: f"{r['prefetchAccuracy'] * 100:.1f}%" if r["prefetch"] else "-"),
        ("latency p50 (ms)", lambda r: f"{r['p50ms']:.2f}"),
        ("latency p99 (ms)", lambda r: f"{r['p99ms']:.2f}"),
        ("memory tier bytes", lambda r: f"{r['memoryBytes']:,}"),
        ("sqlite tier bytes", lambda r: f"{r['sqliteBytes']:,}"),
    ]
    heads = ["prefetch on" if r["prefetch"] else "prefetch off" for r in results]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'':<{width}}  " + "  ".join(f"{h:>14}" for h in heads)]
    for name, fmt in rows:
        lines.append(f"{name:<{width}}  " + "  ".join(f"{fmt(r):>14}" for r in results))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        header, events = read_trace(args.trace)
    except (OSError, TraceFormatError) as exc:
        print(f"smartcache-ls replay: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        events = events[: args.limit]
    workspace = args.workspace
    if workspace is None:
        named = header.get("workspace", "package")
        workspace = Path(__file__).parent if named == "package" else args.trace.parent / named
    workspace = Path(os.path.realpath(workspace))
    if not workspace.is_dir():
        print(f"smartcache-ls replay: workspace {workspace} is not a directory", file=sys.stderr)
        return 2
    modes = {"both": [True, False], "on": [True], "off": [False]}[args.mode]
    what = f"{len(events)} events of {args.trace.name} over {workspace} (think time {args.think_ms:g} ms)"
    print(f"replaying {what}", file=sys.stderr)
    results = [
        asyncio.run(
            run_session(
                workspace,
                events,
                prefetch=mode,
                top_k=args.top_k,
                think=args.think_ms / 1000,
                log_level=args.server_log_level,
            )
        )
        for mode in modes
    ]
    if args.json:
        report = {"trace": str(args.trace), "workspace": str(workspace), "results": results}
        print(json.dumps(report, indent=2), file=sys.stdout)
    else:
        header_line = f"smartcache-ls replay: {args.trace.name}, {len(events)} events, workspace {workspace}"
        print(header_line, file=sys.stdout)
        print(format_table(results), file=sys.stdout)
    return 0
