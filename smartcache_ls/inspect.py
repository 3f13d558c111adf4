"""``smartcache-ls stats``: what a cache directory holds, without a running server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .cache.sqlite import SqliteTier
from .engine import DB_NAME


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
        models = {name: len(json.dumps(tier.get_meta(name))) for name in tier.meta_names()}
    finally:
        tier.close()
    return {"cacheDir": str(cache_dir), "sqlite": stats, "models": models}


def format_stats(data: dict[str, Any]) -> str:
    sqlite = data["sqlite"]
    lines = [
        f"cache dir     {data['cacheDir']}",
        f"database      {sqlite.get('path', '')}",
        f"entries       {sqlite.get('entries', 0):,}",
        f"bytes         {sqlite.get('bytes', 0):,} of {sqlite.get('maxBytes', 0):,}",
        f"models        {len(data['models'])}",
    ]
    lines.extend(f"  {name:<30} {size:>12,} bytes" for name, size in sorted(data["models"].items()))
    return "\n".join(lines)


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
