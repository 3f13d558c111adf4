"""The cache file's size on disk, and a workspace of large text files that fills it: shared by the
disk-bound tests and `bench/disk_bound.py`, so the bench measures what the tests check."""

from __future__ import annotations

import os
import random
from pathlib import Path

from smartcache_ls.engine import DB_NAME


def on_disk(cache: Path) -> int:
    """Bytes of the SQLite database and its WAL in ``cache``."""
    return sum(os.stat(p).st_size for p in (cache / DB_NAME, cache / f"{DB_NAME}-wal") if p.exists())


def notes_workspace(root: Path, files: int, seed: int = 3) -> list[Path]:
    """``files`` text files of 50-200 KB each under a new ``root``."""
    rng = random.Random(seed)
    root.mkdir()
    paths = []
    for i in range(files):
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", f"w{i}"]) for _ in range(200))
        path = root / f"notes_{i:03}.txt"
        path.write_text((words + "\n") * rng.randint(40, 160))  # 50-200 KB
        paths.append(path)
    return paths
