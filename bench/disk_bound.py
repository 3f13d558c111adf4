"""What maxDiskMB bounds: cache.sqlite3 + its WAL on disk, against the bound, through a real server.

A server with ``maxDiskMB`` (default 5) answers getFile and getAnalysis for every file of a
generated workspace several times the bound; a sampler stats the database and its WAL every
10 ms. Prints the bytes written, the peak sampled while the server writes, the size at rest
after shutdown, and the time the session took (the figure to compare across versions:
eviction, vacuum and checkpoints are what the bound costs)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import threading
import time
from pathlib import Path

from harness import ours, start

from smartcache_ls.paths import path_to_uri
from tests.disk_usage import notes_workspace, on_disk

MB = 1 << 20


async def session(ws: Path, files: list[Path], cache: Path, max_mb: float) -> tuple[int, int, float]:
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], on_disk(cache))

    sampler = threading.Thread(target=sample)
    t0 = time.perf_counter()
    client = await start(ours(cache), ws, {"maxDiskMB": max_mb, "prefetch": {"enabled": False}})
    sampler.start()
    try:
        for path in files:
            await client.request("smartcache/getFile", {"uri": path_to_uri(path)})
            await client.request("smartcache/getAnalysis", {"uri": path_to_uri(path)})
    finally:
        await client.close()
        done.set()
        sampler.join()
    return peak[0], on_disk(cache), time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-disk-mb", type=float, default=5)
    ap.add_argument("--files", type=int, default=120)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-disk-"))
    try:
        files = notes_workspace(tmp / "ws", args.files)
        written = sum(p.stat().st_size for p in files)
        peak, rest, took = asyncio.run(session(tmp / "ws", files, tmp / "cache", args.max_disk_mb))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    bound = int(args.max_disk_mb * MB)
    print(f"maxDiskMB {args.max_disk_mb:g} = {bound:,} B; written {written:,} B ({written / bound:.1f}x)")
    print(f"on disk (db + wal): peak while writing {peak:,} B ({peak / bound:.2f}x the bound), "
          f"at rest {rest:,} B ({rest / bound:.2f}x)")
    print(f"session: {took:.1f} s for {2 * args.files} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
