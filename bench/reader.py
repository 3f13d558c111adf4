"""What confinement costs: the checked reader and the secret patterns, on this repository's files.

Prints, per file of the workspace as the server sees it (its ignore rules), the time of
``read_checked`` (resolve if needed, walk down from the root with O_NOFOLLOW, fstat,
/proc/self/fd check, bounded read) against the baseline of reading by name (stat, open,
read, as plainly as Python can), and the time of matching every path against the
default secret patterns (one combined regex) against pathspec's pattern-by-pattern match,
and a whole workspace scan with and without the secret patterns. All measured in this run.

    python bench/reader.py [--rounds N] [--root DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pathspec

from smartcache_ls.ignore import IgnoreRules, scan_files
from smartcache_ls.paths import PathRefused
from smartcache_ls.reader import read_checked
from smartcache_ls.secrets import DEFAULT_PATTERNS, DEFAULT_SECRETS, SecretPatterns

MAX_BYTES = 2 * 1024 * 1024


def best_of(rounds: int, run: Callable[[], None]) -> float:
    """The fastest of ``rounds`` runs, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    root = Path(os.path.realpath(args.root))
    rels = scan_files(root, IgnoreRules(root))
    paths = [root / rel for rel in rels]

    def by_name() -> None:
        for path in paths:
            with contextlib.suppress(OSError), open(path, "rb") as fh:
                os.fstat(fh.fileno())
                fh.read()

    def checked() -> None:
        for path in paths:
            with contextlib.suppress(PathRefused):
                read_checked(path, root, MAX_BYTES)

    spec = pathspec.GitIgnoreSpec.from_lines(DEFAULT_PATTERNS)

    def spec_match() -> None:
        for rel in rels:
            spec.match_file(rel)

    def combined_match() -> None:
        for rel in rels:
            DEFAULT_SECRETS.matches(rel)

    def scan_without() -> None:
        scan_files(root, IgnoreRules(root, secrets=SecretPatterns([])))

    def scan_with() -> None:
        scan_files(root, IgnoreRules(root))

    n = len(paths)
    rows = [
        ("read by name (open, fstat, read)", best_of(args.rounds, by_name), None),
        ("read_checked", best_of(args.rounds, checked), 0),
        ("secret match, pathspec one by one", best_of(args.rounds, spec_match), None),
        ("secret match, combined regex", best_of(args.rounds, combined_match), 2),
        ("scan, no secret patterns", best_of(args.rounds, scan_without), None),
        ("scan, default secret patterns", best_of(args.rounds, scan_with), 4),
    ]
    print(f"{n} files under {root}, best of {args.rounds} rounds")
    print(f"{'':38} {'us/file':>9} {'ratio':>7}")
    for name, seconds, against in rows:
        ratio = "" if against is None else f"{seconds / rows[against][1]:.2f}x"
        print(f"{name:38} {seconds / n * 1e6:9.2f} {ratio:>7}")


if __name__ == "__main__":
    main()
