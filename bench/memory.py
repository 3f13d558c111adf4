"""Memory bound and collector pauses with a full memory tier of real analyses, over a real server.

The workspace is real Python: the standard library's and this environment's ``.py`` files,
copied as many times as it takes (each copy is a separate set of files, analysed on its own)
to hold more than ``--max-mb`` of text. In the same run:

* **baseline**: a smartcache-ls server with the same settings that analyses ``--warm`` files
  (the analysis code and grammars loaded, the tier almost empty): its RSS is "the empty
  server's RSS";
* **full**: a server that answers getAnalysis for file after file until its memory tier is
  full and has evicted for a while (``--churn`` more requests after the first eviction); the
  tier then holds files and analyses up to ``maxMemoryMB``.

Both read VmRSS from /proc/PID/status. Prints RSS against ``maxMemoryMB`` + the baseline
(target: full RSS <= 1.5 x maxMemoryMB + baseline RSS), and the collector's pause times that
the server measured itself (``gc.callbacks``, ``smartcache/stats`` "gc"; target: none above
20 ms). With ``--no-freeze-row`` it skips the second full run with ``SMARTCACHE_GC_FREEZE=0``
(heap freezing off), which shows what freezing is worth.

    .venv/bin/python bench/memory.py [--max-mb 256] [--churn 0.25] [--no-freeze-row]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import ours, start, table

from smartcache_ls.paths import path_to_uri

MAX_FILE = 256 * 1024


def real_sources() -> list[Path]:
    """The .py files of the standard library and of this environment (UTF-8, under MAX_FILE)."""
    roots = {Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])}
    found = []
    for root in sorted(roots):
        for path in sorted(root.rglob("*.py")):
            try:
                if (
                    not path.is_file()
                    or path.stat().st_size > MAX_FILE
                    or "site-packages" in path.parts[len(root.parts) : len(root.parts) + 1]
                ):
                    continue
                path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            found.append(path)
    return found


def build_workspace(root: Path, need_bytes: int) -> list[Path]:
    """Copies of the real sources under root/cN/ until they hold ``need_bytes`` of text."""
    sources = real_sources()
    files: list[Path] = []
    total = 0
    copy = 0
    while total < need_bytes:
        base = root / f"c{copy}"
        for i, src in enumerate(sources):
            dst = base / f"{i // 200}" / f"{i}_{src.name}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            files.append(dst)
            total += dst.stat().st_size
            if total >= need_bytes:
                break
        copy += 1
    return files


def rss(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[name] = int(value.split()[0]) * 1024
    return out


async def serve(
    cache: Path, ws: Path, files: list[Path], max_mb: float, *, fill: bool, churn: float, freeze: bool
) -> dict[str, Any]:
    env_before = os.environ.get("SMARTCACHE_GC_FREEZE")
    os.environ["SMARTCACHE_GC_FREEZE"] = "1" if freeze else "0"
    try:
        options = {"maxMemoryMB": max_mb, "maxDiskMB": 4 * max_mb + 64, "prefetch": {"enabled": False}}
        client = await start(ours(cache, "--log-level", "ERROR", "--no-watch"), ws, options)
    finally:
        if env_before is None:
            os.environ.pop("SMARTCACHE_GC_FREEZE", None)
        else:
            os.environ["SMARTCACHE_GC_FREEZE"] = env_before
    try:
        t0 = time.perf_counter()
        requests = 0
        first_eviction = None
        for path in files:
            await client.request("smartcache/getAnalysis", {"uri": path_to_uri(path)})
            requests += 1
            if not fill:
                continue
            if requests % 100 == 0:
                mem = (await client.request("smartcache/stats", {}))["tiers"]["memory"]
                if first_eviction is None and mem["evictions"] > 0:
                    first_eviction = requests
                if first_eviction is not None and requests >= first_eviction * (1 + churn):
                    break
        elapsed = time.perf_counter() - t0
        await asyncio.sleep(1.0)
        stats = await client.request("smartcache/stats", {})
        mem = stats["tiers"]["memory"]
        return {
            "requests": requests,
            "seconds": elapsed,
            "filled": first_eviction is not None,
            "rss": rss(client.proc.pid),
            "entries": mem["entries"],
            "bytes": mem["bytes"],
            "maxBytes": mem["maxBytes"],
            "gc": stats.get("gc", {}),
        }
    finally:
        await client.close()


async def run(max_mb: float, warm: int, churn: float, freeze_row: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        base = Path(tmp)
        ws = base / "ws"
        print(f"building a workspace of real Python files for a {max_mb:g} MiB tier ...", flush=True)
        files = build_workspace(ws, int(max_mb * 1024 * 1024 * 1.6))
        print(
            f"{len(files):,} files, {sum(p.stat().st_size for p in files) / 2**20:,.0f} MiB of text",
            flush=True,
        )
        runs = [("baseline (warm, near-empty tier)", False, True)]
        runs.append(("full tier, heap freezing on", True, True))
        if freeze_row:
            runs.append(("full tier, heap freezing off", True, False))
        results = []
        for i, (label, fill, freeze) in enumerate(runs):
            chosen = files[:warm] if not fill else files
            result = await serve(
                base / f"cache{i}", ws, chosen, max_mb, fill=fill, churn=churn, freeze=freeze
            )
            results.append((label, result))
            print(f"  {label}: {result['requests']:,} requests in {result['seconds']:.1f} s", flush=True)

    empty = results[0][1]["rss"]["VmRSS"]
    bound = 1.5 * max_mb * 2**20 + empty
    rows = []
    for label, r in results:
        gc = r["gc"]
        pauses = gc.get("maxPauseMs", [0.0, 0.0, 0.0])
        cpu = gc.get("maxPauseCpuMs", [0.0, 0.0, 0.0])
        counts = gc.get("collections", [0, 0, 0])
        rows.append(
            [
                label,
                f"{r['entries']:,}",
                r["bytes"] / 2**20,
                r["rss"]["VmRSS"] / 2**20,
                r["rss"]["RssAnon"] / 2**20,
                (r["rss"]["VmRSS"] - empty) / (max_mb * 2**20),
                f"{counts[2]}",
                pauses[2],
                max(pauses),
                max(cpu),
            ]
        )
    print()
    print(
        f"maxMemoryMB {max_mb:g}; empty-server RSS {empty / 2**20:.1f} MiB; "
        f"bound 1.5 x maxMemoryMB + empty = {bound / 2**20:.1f} MiB  (Python {sys.version.split()[0]})\n"
    )
    print(
        table(
            [
                "server",
                "entries",
                "tier MiB",
                "RSS MiB",
                "anon MiB",
                "(RSS-empty)/max",
                "full GCs",
                "max full GC ms",
                "max GC ms",
                "max GC cpu ms",
            ],
            rows,
        )
    )
    full = results[1][1]
    ok_rss = full["rss"]["VmRSS"] <= bound
    worst = max(full["gc"].get("maxPauseMs", [0.0]))
    worst_cpu = max(full["gc"].get("maxPauseCpuMs", [0.0]))
    print()
    print(f"tier filled and evicting: {'yes' if full['filled'] else 'NO (not enough files)'}")
    print(f"RSS within 1.5 x maxMemoryMB + empty: {'yes' if ok_rss else 'NO'}")
    print(
        f"worst collector pause {worst:.1f} ms wall, {worst_cpu:.1f} ms of the collecting thread's CPU "
        f"(target <= 20): {'yes' if worst <= 20 else 'NO'} (wall), {'yes' if worst_cpu <= 20 else 'NO'} (cpu)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-mb", type=float, default=256)
    parser.add_argument("--warm", type=int, default=20, help="files the baseline server analyses")
    parser.add_argument("--churn", type=float, default=0.25, help="more requests after the first eviction")
    parser.add_argument("--no-freeze-row", action="store_true", help="skip the run with freezing off")
    args = parser.parse_args()
    asyncio.run(run(args.max_mb, args.warm, args.churn, not args.no_freeze_row))


if __name__ == "__main__":
    main()
