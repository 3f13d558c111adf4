"""Open latency on a 10k-file tree: didOpen -> getAnalysis, prefetch on vs off, one run.

A generated workspace of ``--dirs`` x ``--per-dir`` Python modules (each importing a
few of its neighbours). The client opens files picked at random (seeded) across the
tree, each followed at once by ``smartcache/getAnalysis`` of it, the request the user
waits for; the time is from sending didOpen to the answer. Each open makes the server
with prefetch on predict and prefetch the next files in the background, so the next
open meets that work. Two smartcache-ls servers, prefetch on (``threshold 0``: every
open prefetches) and off, are opened in alternation (interleaved, same files, same
order), ``--think`` seconds apart, beside the pygls floor (``didOpen`` + ``floor/noop``).
Opens the prefetcher happened to warm (answered from memory) are counted apart: the
ratio compares cold opens only. Target: on <= 1.1x off.

The opens start once both servers' background index of the tree is built (about 40 s on 2
shared cores; the time is printed): before that, each open met the other server's index at
another point (the prefetching server's index waits for its prefetch, so fewer of its opens
found their file indexed), which is not what prefetch costs. ``--during-index`` opens 3 s
after start instead, as this bench used to. 200 opens by default (p90 is then the 20th
slowest, not the 8th of 80); the ratios' 5-95 % range over 1,000 bootstrap resamples of the
opens is printed beside them, the noise to judge 1.1x against.

    .venv/bin/python bench/open_latency.py [--opens 200] [--dirs 100] [--per-dir 100] [--think 0.25]
        [--during-index]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import FLOOR, ROOT, ours, percentile, start, table, wait_index

from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import StdioRpcClient


def make_tree(root: Path, dirs: int, per_dir: int) -> list[Path]:
    paths: list[Path] = []
    for d in range(dirs):
        folder = root / f"area{d:03d}"
        folder.mkdir(parents=True)
        for i in range(per_dir):
            name = f"m{d:03d}x{i:03d}"
            imports = "".join(f"import m{d:03d}x{(i + k) % per_dir:03d}\n" for k in (1, 2, 3))
            body = "".join(
                f"\n\nclass C{name}_{j}:\n    def run(self, v):\n        # step {j}\n        return v + {j}\n"
                for j in range(12)
            )
            path = folder / f"{name}.py"
            path.write_text(f'"""Module {name}."""\n{imports}{body}')
            paths.append(path)
    return paths


async def open_once(client: StdioRpcClient, path: Path, floor: bool) -> tuple[float, str]:
    uri = path_to_uri(path)
    doc = {"uri": uri, "languageId": "python", "version": 1, "text": path.read_text()}
    t0 = time.perf_counter()
    client.notify("textDocument/didOpen", {"textDocument": doc})
    if floor:
        await client.request("floor/noop", {})
        source = "floor"
    else:
        result = await client.request("smartcache/getAnalysis", {"uri": uri})
        source = str(result.get("source"))
    elapsed = time.perf_counter() - t0
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return elapsed, source


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="open-latency-") as tmp:
        root = Path(os.path.realpath(tmp)) / "ws"
        paths = make_tree(root, args.dirs, args.per_dir)
        picks = random.Random(7).sample(paths, args.opens)
        on = {"prefetch": {"enabled": True, "topK": 5, "threshold": 0.0}}
        off = {"prefetch": {"enabled": False}}
        servers = [
            ("prefetch on", await start(ours(Path(tmp) / "c-on"), root, on), False),
            ("prefetch off", await start(ours(Path(tmp) / "c-off"), root, off), False),
            ("pygls floor", await start(FLOOR, root), True),
        ]
        await asyncio.sleep(3.0)  # start-up work (workers) settles
        index_s = None
        if not args.during_index:
            index_s = max([await wait_index(client, timeout=600.0, poll=0.5) for _, client, _ in servers[:2]])
            await asyncio.sleep(2.0)  # (the last files' edges settle)
        times: dict[str, list[float]] = {name: [] for name, _, _ in servers}
        warm: dict[str, int] = {name: 0 for name, _, _ in servers}
        for path in picks:
            for name, client, floor in servers:
                elapsed, source = await open_once(client, path, floor)
                if source == "computed" or floor:
                    times[name].append(elapsed)
                else:
                    warm[name] += 1
                await asyncio.sleep(args.think)
        stats = await servers[0][1].request("smartcache/stats", {})
        for _, client, _ in servers:
            await client.close()

    rows: list[list[Any]] = []
    for name, _, _ in servers:
        ms = [t * 1000 for t in times[name]]
        mean = sum(ms) / len(ms) if ms else 0.0
        top = max(ms, default=0.0)
        rows.append([name, percentile(ms, 50), percentile(ms, 90), mean, top, len(ms), warm[name]])
    print(f"{len(paths):,} files; {args.opens} opens per server, {args.think}s apart, interleaved")
    if index_s is None:
        print("opens from 3 s after start, while both servers build their index (--during-index)")
    else:
        print(f"opens once both servers' index was built ({index_s + 3:.0f} s after start)")
    print(f"cores: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f} (machine shared)")
    print(table(["server", "p50 ms", "p90 ms", "mean ms", "max ms", "cold opens", "warm (skipped)"], rows))
    p = stats.get("prefetch", {})
    print(f"prefetch (on): submitted {p.get('submitted')}, completed {p.get('completed')}")
    on_ms, off_ms = ([t * 1000 for t in times[name]] for name, _, _ in servers[:2])
    spread = bootstrap(on_ms, off_ms)
    print(
        f"on/off: p50 {rows[0][1] / rows[1][1]:.2f}x, p90 {rows[0][2] / rows[1][2]:.2f}x,"
        f" mean {rows[0][3] / rows[1][3]:.2f}x (target <= 1.1)"
    )
    print("  5-95% over resamples: " + ", ".join(f"{k} {lo:.2f}-{hi:.2f}x" for k, (lo, hi) in spread.items()))


def bootstrap(on: list[float], off: list[float], rounds: int = 1000) -> dict[str, tuple[float, float]]:
    """The 5th and 95th percentiles of the on/off ratios (p50, p90, mean) when each server's
    opens are resampled with replacement: how far the figures move by chance alone."""
    rng = random.Random(11)
    stats: dict[str, Callable[[list[float]], float]] = {
        "p50": lambda v: percentile(v, 50),
        "p90": lambda v: percentile(v, 90),
        "mean": lambda v: sum(v) / len(v),
    }
    ratios: dict[str, list[float]] = {k: [] for k in stats}
    if not on or not off:
        return {k: (0.0, 0.0) for k in stats}
    for _ in range(rounds):
        a, b = rng.choices(on, k=len(on)), rng.choices(off, k=len(off))
        for k, f in stats.items():
            ratios[k].append(f(a) / f(b))
    return {k: (percentile(r, 5), percentile(r, 95)) for k, r in ratios.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=200)
    parser.add_argument("--dirs", type=int, default=100)
    parser.add_argument("--per-dir", type=int, default=100)
    parser.add_argument("--think", type=float, default=0.25)
    parser.add_argument("--during-index", action="store_true", help="open while the index is being built")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
