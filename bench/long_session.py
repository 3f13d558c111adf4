"""Long session: RSS slope over many file opens with the memory tier full, beside the pygls floor.

A generated workspace of ``--files`` Python files; a navigation-like walk over them (mostly
near the current file, sometimes a jump, a few favourites revisited: Zipf-like popularity).
Each event is ``didOpen`` (with the file's text, as an editor sends it) and ``didClose`` of the
previous file; every ``--request-every`` events the opened file's ``smartcache/getAnalysis``
is requested (a demand request that waits). smartcache-ls runs with prefetch on and a small
``maxMemoryMB`` so the tier is full early and every later prefetch evicts.

The same event stream goes, in the same run and interleaved in blocks, to ``floor_server.py``
(a minimal pygls server: pygls' own document store and notification handling, no cache). RSS
(VmRSS, /proc/PID/status) is sampled every ``--sample`` events; the slope is a least-squares
line over the samples taken once smartcache-ls's tier is full, in MB per 10k events. Target:
smartcache-ls <= 2 MB / 10k events. The floor's slope is pygls' own growth (its notification
futures, for one), which is in ours too.

With ``--without-pygls-leak`` both servers run with ``bench/pygls_notification_fix`` on their
PYTHONPATH, which drops the notification futures pygls 2.1.1 never releases: the slopes are
then what is left without that leak (until the server's own JSON-RPC layer fixes it).

    .venv/bin/python bench/long_session.py [--events 100000] [--files 3000] [--max-mb 8]
                                           [--without-pygls-leak]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import FLOOR, ours, start, table
from memory import rss

from smartcache_ls.paths import path_to_uri


def build(root: Path, n: int) -> list[Path]:
    """``n`` Python modules in directories of 50, importing a few neighbours."""
    files = []
    for i in range(n):
        d = root / f"pkg{i // 50}"
        d.mkdir(parents=True, exist_ok=True)
        if not (d / "__init__.py").exists():
            (d / "__init__.py").write_text("")
        imports = "".join(
            f"from pkg{j // 50} import mod{j}\n" for j in (i - 1, i + 1, i * 7 % n) if 0 <= j < n
        )
        body = "".join(
            f"class Thing{i}_{k}:\n    def run(self, x):\n        return x + {k}\n\n    def stop(self):\n"
            f"        return {i}\n\n\n"
            for k in range(6)
        )
        path = d / f"mod{i}.py"
        path.write_text(
            f'"""Module {i}."""\n{imports}\n\n{body}def main{i}():\n    return Thing{i}_0().run({i})\n'
        )
        files.append(path)
    return files


def walk(n_files: int, events: int, seed: int) -> list[int]:
    """File indexes of a navigation-like walk: neighbours, jumps, and popular files."""
    rng = random.Random(seed)
    popular = [int(n_files * (rng.random() ** 3)) for _ in range(40)]
    cur = 0
    out = []
    for _ in range(events):
        r = rng.random()
        if r < 0.55:
            cur = min(n_files - 1, max(0, cur + rng.choice((-2, -1, 1, 1, 2, 3))))
        elif r < 0.8:
            cur = rng.choice(popular)
        else:
            cur = rng.randrange(n_files)
        out.append(cur)
    return out


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of (events, bytes) in MB per 10k events."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return (sxy / sxx) * 10_000 / 1e6 if sxx else 0.0


class Driver:
    """One server and the events sent to it."""

    def __init__(self, name: str, client: Any, texts: list[str], uris: list[str], ours: bool) -> None:
        self.name = name
        self.client = client
        self.texts = texts
        self.uris = uris
        self.ours = ours
        self.prev: int | None = None
        self.version = 0
        self.samples: list[tuple[int, int]] = []
        self.anon: list[tuple[int, int]] = []  # RssAnon: without file-backed pages (SQLite's mmap)
        # what the server says it holds, at each sample (ours only): SQLite's allocator (its page
        # caches) and the file-backed pages (SQLite's mmap of its file)
        self.sqlite: list[tuple[int, int]] = []
        self.file_backed: list[tuple[int, int]] = []
        self.process: dict[str, Any] = {}
        self.full_at: int | None = None
        self.full_clock = 0.0  # the server's gc clock when the tier was first seen full
        self.seconds = 0.0

    async def block(self, walk_part: list[int], start: int, request_every: int) -> None:
        t0 = time.perf_counter()
        for offset, i in enumerate(walk_part):
            event = start + offset
            if self.prev is not None and self.prev != i:
                self.client.notify("textDocument/didClose", {"textDocument": {"uri": self.uris[self.prev]}})
            if self.prev != i:
                self.version += 1
                doc = {
                    "uri": self.uris[i],
                    "languageId": "python",
                    "version": self.version,
                    "text": self.texts[i],
                }
                self.client.notify("textDocument/didOpen", {"textDocument": doc})
            self.prev = i
            if (event + 1) % request_every == 0:
                if self.ours:
                    # the opened file is an open buffer: ask for another file's analysis, from disk
                    other = (i * 31 + 7) % len(self.uris)
                    await self.client.request("smartcache/getAnalysis", {"uri": self.uris[other]})
                else:
                    await self.client.request("floor/noop", {})
        if self.ours:
            stats = await self.client.request("smartcache/stats", {})
            self.process = stats.get("process") or {}
            if self.full_at is None and stats["tiers"]["memory"]["evictions"] > 0:
                self.full_at = start + len(walk_part)
                self.full_clock = float(stats.get("gc", {}).get("at", 0.0))
        else:
            await self.client.request("floor/noop", {})
        self.seconds += time.perf_counter() - t0

    def sample(self, events: int) -> None:
        now = rss(self.client.proc.pid)
        self.samples.append((events, now["VmRSS"]))
        self.anon.append((events, now["RssAnon"]))
        if self.process.get("sqliteBytes") is not None:
            self.sqlite.append((events, int(self.process["sqliteBytes"])))
        if self.process.get("rssFileBytes") is not None:
            self.file_backed.append((events, int(self.process["rssFileBytes"])))


def since(points: list[tuple[int, int]], start: int) -> list[tuple[int, int]]:
    """The samples taken at or after event ``start``."""
    return [(x, y) for x, y in points if x >= start]


def breakdown(d: Driver, full_at: int) -> str:
    """Where our slope with the tier full comes from: file-backed pages, SQLite's allocator, and
    the anonymous rest (the Python heap, the allocator's free lists)."""
    sqlite = dict(d.sqlite)
    rest = [(x, y - sqlite[x]) for x, y in d.anon if x in sqlite]
    parts = [
        ("file-backed (SQLite's mmap)", d.file_backed),
        ("SQLite's allocator (page caches)", d.sqlite),
        ("anonymous, less SQLite's allocator", rest),
    ]
    return "our slope with the tier full, by part (MB / 10k events): " + "; ".join(
        f"{name} {slope(since(points, full_at)):.2f}" for name, points in parts if points
    )


async def run(events: int, n_files: int, max_mb: float, sample: int, request_every: int, fix: bool) -> None:
    if fix:
        patch = str(Path(__file__).resolve().parent / "pygls_notification_fix")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [patch, os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="long-session-") as tmp:
        base = Path(tmp)
        ws = base / "ws"
        files = build(ws, n_files)
        texts = [p.read_text() for p in files]
        uris = [path_to_uri(p) for p in files]
        steps = walk(n_files, events, seed=11)
        options = {"maxMemoryMB": max_mb, "prefetch": {"enabled": True, "topK": 5}}
        mine = Driver(
            "smartcache-ls",
            await start(ours(base / "cache", "--log-level", "ERROR"), ws, options),
            texts,
            uris,
            True,
        )
        floor = Driver("pygls floor", await start(FLOOR, ws), texts, uris, False)
        try:
            await asyncio.sleep(2.0)  # indexing settles
            for d in (mine, floor):
                d.sample(0)
            done = 0
            while done < events:
                part = steps[done : done + sample]
                for d in (mine, floor):
                    await d.block(part, done, request_every)
                done += len(part)
                for d in (mine, floor):
                    d.sample(done)
                print(
                    f"  {done:,} events: ours {mine.samples[-1][1] / 2**20:.1f} MiB, "
                    f"floor {floor.samples[-1][1] / 2**20:.1f} MiB",
                    flush=True,
                )
            stats = await mine.client.request("smartcache/stats", {})
        finally:
            await mine.client.close()
            await floor.client.close()

    full_at = mine.full_at if mine.full_at is not None else events
    rows: list[list[Any]] = []
    for d in (mine, floor):
        tail = since(d.samples, full_at)
        first, last = d.samples[0][1], d.samples[-1][1]
        anon_tail = since(d.anon, full_at)
        half = since(d.samples, events // 2)
        rows.append(
            [
                d.name,
                first / 2**20,
                last / 2**20,
                slope(tail),
                slope(anon_tail),
                slope(half),
                slope(d.samples),
                d.seconds,
            ]
        )
    mem = stats["tiers"]["memory"]
    print()
    print(
        f"{events:,} open events over {n_files:,} files; maxMemoryMB {max_mb:g}; tier full from event "
        f"{full_at:,} (entries {mem['entries']:,}, evictions {mem['evictions']:,}); "
        f"Python {sys.version.split()[0]}"
    )
    print(
        "pygls notification-future leak: "
        + ("patched out in both servers" if fix else "present (pygls 2.1.1)")
    )
    gc = stats.get("gc", {})
    later = [entry for entry in gc.get("fullCollections", []) if entry[0] >= mine.full_clock]
    print(f"predictor: {stats['predictor']}; gc: {gc}; process: {stats.get('process')}")
    print(
        f"full collections with the tier full (of the last kept): {len(later)}, worst "
        f"{max((e[1] for e in later), default=0.0):.1f} ms wall, "
        f"{max((e[2] for e in later), default=0.0):.1f} ms CPU (target <= 20)\n"
    )
    print(
        table(
            [
                "server",
                "RSS start MiB",
                "RSS end MiB",
                "MB/10k (tier full)",
                "anon MB/10k",
                "MB/10k (2nd half)",
                "MB/10k (all)",
                "seconds",
            ],
            rows,
        )
    )
    ours_slope, settled = rows[0][3], rows[0][5]
    print(breakdown(mine, full_at))
    print(
        "\n(the model, bounded by MODEL_BYTES, and SQLite's page caches and mmap of its file grow until "
        "they are full; '2nd half': the slope over the last half of the events)"
    )
    print(
        f"smartcache-ls slope with the tier full: {ours_slope:.2f} MB / 10k events, over the 2nd half "
        f"{settled:.2f} (target <= 2): {'yes' if settled <= 2 else 'NO'}; pygls floor: {rows[1][3]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--max-mb", type=float, default=8)
    parser.add_argument("--sample", type=int, default=5000, help="events between RSS samples")
    parser.add_argument("--request-every", type=int, default=10)
    parser.add_argument("--without-pygls-leak", action="store_true", help="patch pygls' leak out of both")
    args = parser.parse_args()
    asyncio.run(
        run(args.events, args.files, args.max_mb, args.sample, args.request_every, args.without_pygls_leak)
    )


if __name__ == "__main__":
    main()
