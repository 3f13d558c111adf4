"""Import resolution against the in-memory file index vs the disk, in one run.

Over the Python files of this interpreter's site-packages (or ``--root``), indexed
as a workspace would be (the server's scan and ignore rules), times
``resolve_imports`` for every file's imports two ways: with the engine's old
``exists`` (the index, else an ignore-rule match and a ``stat`` per candidate),
and with the :class:`FileIndex` alone (set lookups, listings from memory). Both
must give the same paths when the index is complete. Prints microseconds per
file: the server pays this per analysed file (what resolving in the workers
instead would save, beside the cost of keeping a copy of the index in each).

    .venv/bin/python bench/resolve_imports.py [--root DIR] [--files 3000]
"""

from __future__ import annotations

import argparse
import os
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartcache_ls.analysis import analyze, resolve_imports
from smartcache_ls.fileindex import FileIndex
from smartcache_ls.ignore import IgnoreRules, scan_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument("--files", type=int, default=3000)
    args = parser.parse_args()
    root = Path(os.path.realpath(args.root))
    rules = IgnoreRules(root)
    files = scan_files(root, rules)
    index = FileIndex(files)
    imports: list[tuple[str, list[str]]] = []
    for rel in [f for f in files if f.endswith(".py")][: args.files]:
        try:
            imports.append((rel, analyze(rel, (root / rel).read_text(encoding="utf-8"))["imports"]))
        except (OSError, UnicodeDecodeError):
            continue

    def disk_exists(rel: str) -> bool:  # the engine's callback before the index was enough
        return rel in index or (not rules.ignored(rel) and (root / rel).is_file())

    t0 = time.perf_counter()
    old = [resolve_imports(root, rel, specs, disk_exists) for rel, specs in imports]
    t_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = [resolve_imports(root, rel, specs, index.__contains__, index.names_in) for rel, specs in imports]
    t_new = time.perf_counter() - t0
    n = max(len(imports), 1)
    same = sum(a == b for a, b in zip(old, new, strict=True))
    print(f"{len(imports)} files ({sum(len(s) for _, s in imports)} imports), {len(files)} files indexed")
    print(f"index, else ignore rules + stat: {t_old / n * 1e6:8.0f} us/file")
    print(f"file index only:                 {t_new / n * 1e6:8.0f} us/file  ({t_old / t_new:.1f}x faster)")
    print(f"same resolved paths: {same}/{len(imports)}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
