"""``smartcache-ls stats``: what a cache directory holds, without a running server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .cache.sqlite import SqliteTier
from .engine import DB_NAME, LAST_STATS_META
from .redact import mask_value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartcache-ls stats", description="Show what a smartcache-ls cache directory holds."
    )
    parser.add_argument("--cache-dir", type=Path, help="the cache directory (default: the user cache dir)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def collect(cache_dir: Path) -> dict[str, Any]:
    tier = SqliteTier(cache_dir / DB_NAME, max_bytes=1 << 62)
    try:
        stats = tier.stats()
        names = tier.meta_names()
        models = {n: len(json.dumps(tier.get_meta(n))) for n in names if n.startswith("model:")}
        last = mask_value(tier.get_meta(LAST_STATS_META)) if LAST_STATS_META in names else None
    finally:
        tier.close()
    return {"cacheDir": str(cache_dir), "sqlite": stats, "models": models, "lastSession": last}


def format_stats(data: dict[str, Any]) -> str:
    sqlite = data["sqlite"]
    last = data.get("lastSession")
    limit = last.get("tiers", {}).get("sqlite", {}).get("maxBytes") if isinstance(last, dict) else None
    lines = [
        f"cache dir     {data['cacheDir']}",
        f"database      {sqlite.get('path', '')}",
        f"entries       {sqlite.get('entries', 0):,}",
        f"bytes         {sqlite.get('bytes', 0):,}" + (f" of {limit:,}" if limit else ""),
        f"models        {len(data['models'])}",
    ]
    lines.extend(f"  {name:<30} {size:>12,} bytes" for name, size in sorted(data["models"].items()))
    if isinstance(last, dict):
        loads = last.get("loads", {})
        lines += ["", f"last server session (up {last.get('uptimeSeconds', 0):.0f} s):", _tier_table(last)]
        pre = last.get("prefetch", {})
        lines.append(
            f"prefetch      issued {pre.get('issued', 0)}, used {pre.get('used', 0)}, "
            f"wasted {pre.get('wasted', 0)}, accuracy {pre.get('accuracy', 0.0):.1%}, "
            f"coverage {pre.get('coverage', 0.0):.1%}"
        )
        first = pre.get("firstVisits", 0)
        lines.append(
            f"first visits  {pre.get('firstVisitsWarm', 0)} of {first} served warm"
            + (f" ({pre.get('firstVisitsWarm', 0) / first:.1%})" if first else "")
            + f", precision {pre.get('precision', 0.0):.1%} of {pre.get('prefetchedFiles', 0)} prefetched, "
            f"lead time p50 {pre.get('leadTimeP50', 0.0):.2f} s p95 {pre.get('leadTimeP95', 0.0):.2f} s"
        )
        lines.append(
            f"per switch    p95 {pre.get('filesPerSwitchP95', 0):.0f} files, "
            f"{pre.get('cpuPerSwitchP95', 0.0):.3f} CPU-s; wasted {pre.get('wastedBytes', 0):,} bytes, "
            f"{pre.get('wastedCpuSeconds', 0.0):.2f} CPU-s"
        )
        lines.append(
            f"loads         {loads.get('loads', 0)} ({loads.get('loadFailures', 0)} failed), "
            f"average {loads.get('averageLoadPenalty', 0.0) * 1000:.2f} ms"
        )
        for name, req in last.get("requests", {}).items():
            lines.append(
                f"{name:<13} {req.get('count', 0)} requests, hit ratio {req.get('hitRatio', 0.0):.1%}"
            )
    return "\n".join(lines)


def _tier_table(stats: dict[str, Any]) -> str:
    columns = ["hits", "misses", "hitRatio", "evictions", "evictedBytes", "entries", "bytes"]
    width = 14
    rows = [f"{'tier':<8}" + "".join(f"{c:>{width}}" for c in columns)]
    for tier, values in stats.get("tiers", {}).items():
        cells = []
        for column in columns:
            value = values.get(column, 0)
            cells.append(f"{value:>{width}.1%}" if column == "hitRatio" else f"{value:>{width},}")
        rows.append(f"{tier:<8}" + "".join(cells))
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    from .cli import default_cache_dir

    args = _parser().parse_args(argv)
    cache_dir: Path = args.cache_dir or default_cache_dir()
    if not (cache_dir / DB_NAME).is_file():
        print(f"smartcache-ls stats: no cache at {cache_dir / DB_NAME}", file=sys.stderr)
        return 1
    data = collect(cache_dir)
    print(json.dumps(data, indent=2) if args.json else format_stats(data), file=sys.stdout)
    return 0
