"""Analysis throughput on this repository's own files.

Prints analyses/second and MB/second for analyze() over every tracked-looking text file
of the repo (skipping .venv, .git, node_modules), next to the cost of reading the same
files and hashing them (the baseline every analysis pays anyway), measured in this run.

    python bench/analysis.py [--rounds N] [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartcache_ls.analysis import analyze, language_for
from smartcache_ls.content import content_hash

SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
MAX_BYTES = 2 * 1024 * 1024


def collect(root: Path) -> list[tuple[str, str]]:
    files: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) > MAX_BYTES or b"\x00" in data[:8192]:
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            files.append((path.relative_to(root).as_posix(), text))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()

    files = collect(args.root)
    total_bytes = sum(len(t.encode("utf-8")) for _, t in files)
    languages = Counter(language_for(p) or "other" for p, _ in files)
    print(f"{len(files)} files, {total_bytes / 1e6:.2f} MB: {dict(sorted(languages.items()))}")

    t0 = time.perf_counter()
    for path, text in files:  # first use: grammar loading and parser creation
        analyze(path, text)
    warmup = time.perf_counter() - t0

    t0 = time.perf_counter()
    for _ in range(args.rounds):
        for _, text in files:
            content_hash(text)
    hash_time = (time.perf_counter() - t0) / args.rounds

    per_language: Counter[str] = Counter()
    t0 = time.perf_counter()
    for _ in range(args.rounds):
        for path, text in files:
            t = time.perf_counter()
            analyze(path, text)
            per_language[language_for(path) or "other"] += time.perf_counter() - t
    analyze_time = (time.perf_counter() - t0) / args.rounds

    print(f"first pass (loads grammars): {warmup:.3f}s")
    print(
        f"analyze: {len(files) / analyze_time:,.0f} analyses/s, {total_bytes / 1e6 / analyze_time:.2f} MB/s"
        f" ({analyze_time * 1000 / max(len(files), 1):.2f} ms/file)"
    )
    print(f"baseline content_hash: {len(files) / hash_time:,.0f} files/s")
    print(f"analyze / hash time ratio: {analyze_time / hash_time:,.0f}x")
    for lang, spent in sorted(per_language.items(), key=lambda kv: -kv[1]):
        n = languages[lang]
        print(f"  {lang:<11} {n:>4} files  {spent / args.rounds * 1000 / n:7.2f} ms/file")


if __name__ == "__main__":
    main()
