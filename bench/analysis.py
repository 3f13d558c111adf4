"""analyze() alone, in this process, on this repository's own files: per-language cost.

What it times is the analysis function by itself: texts already in memory, one thread,
no file reads, no import resolution, no cache, no LSP. It is NOT the rate the server
analyses files at; bench/cold_analysis.py measures that (getAnalysis over LSP on a
fresh cache, beside Universal Ctags and the pygls floor). Use this one to see where
analysis time goes per language, and to compare analyze() versions on the same files
(bench/analysis_diff.py checks that their outputs stay identical).

Prints analyses/second and MB/second for analyze() over the repo's text files as the
server sees a workspace (its ignore rules: heavy folders such as .venv, .git and
node_modules, and .gitignore), next to the cost of hashing the same files (the baseline
every analysis pays anyway), measured in this run.

    python bench/analysis.py [--rounds N] [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartcache_ls.analysis import analyze, language_for
from smartcache_ls.content import content_hash
from smartcache_ls.ignore import IgnoreRules, scan_files
from smartcache_ls.paths import PathRefused, decode_text

MAX_BYTES = 2 * 1024 * 1024


def collect(root: Path) -> list[tuple[str, str]]:
    """The workspace's files (by the server's ignore rules) that are text, up to MAX_BYTES."""
    files: list[tuple[str, str]] = []
    for rel in scan_files(root, IgnoreRules(root)):
        path = root / rel
        try:
            data = path.read_bytes()
            if len(data) <= MAX_BYTES:
                files.append((rel, decode_text(path, data)))
        except (OSError, PathRefused):
            continue
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()

    files = collect(args.root)
    total_bytes = sum(len(t.encode("utf-8")) for _, t in files)
    langs = [language_for(p) or "other" for p, _ in files]  # (outside the timed loop)
    languages = Counter(langs)
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

    per_language: dict[str, float] = dict.fromkeys(langs, 0.0)
    t0 = time.perf_counter()
    for _ in range(args.rounds):
        for (path, text), lang in zip(files, langs, strict=True):
            t = time.perf_counter()
            analyze(path, text)
            per_language[lang] += time.perf_counter() - t
    analyze_time = (time.perf_counter() - t0) / args.rounds

    print(f"first pass (loads grammars): {warmup:.3f}s")
    print(
        f"analyze() alone: {len(files) / analyze_time:,.0f} analyses/s,"
        f" {total_bytes / 1e6 / analyze_time:.2f} MB/s"
        f" ({analyze_time * 1000 / max(len(files), 1):.2f} ms/file)"
        " -- in-process, no I/O or LSP; the server's rate is bench/cold_analysis.py's"
    )
    print(f"baseline content_hash: {len(files) / hash_time:,.0f} files/s")
    print(f"analyze / hash time ratio: {analyze_time / hash_time:,.0f}x")
    for lang, spent in sorted(per_language.items(), key=lambda kv: -kv[1]):
        n = languages[lang]
        print(f"  {lang:<11} {n:>4} files  {spent / args.rounds * 1000 / n:7.2f} ms/file")


if __name__ == "__main__":
    main()
