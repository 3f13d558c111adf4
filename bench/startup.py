"""Start-up: spawn -> initialize reply, smartcache-ls against the pygls floor, in the same run.

Each round spawns both servers (the order alternates) on a small workspace and times
from the spawn to the initialize reply (and reads the CPU time the server process used
until then, which the machine's load disturbs less than wall time), then to the reply of
a first request
(``smartcache/stats`` for ours, ``floor/noop`` for the floor). Ours runs on a cache
directory that a warm-up run created (an editor's usual start); ``--cold`` gives it a
fresh cache directory every round.

    python bench/startup.py [--rounds 15] [--cold]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from harness import FLOOR, cpu_seconds, ours, percentile, start, table


def make_workspace(root: Path) -> Path:
    for i in range(20):
        sub = root / f"pkg{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"mod{i}.py").write_text(f"import os\n\n\ndef f{i}():\n    return {i}\n")
    return root


async def once(command: list[str], workspace: Path, first: str) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    client = await start(command, workspace)
    t_init = time.perf_counter() - t0
    cpu = cpu_seconds(client.proc.pid)
    await client.request(first, {})
    t_first = time.perf_counter() - t0
    await client.close()
    return t_init, t_first, cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cold", action="store_true", help="a fresh cache dir for every round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smartcache-startup-") as tmp:
        base = Path(tmp)
        workspace = make_workspace(base / "ws")
        cache = base / "cache"
        await once(ours(cache), workspace, "smartcache/stats")  # warm-up: the cache dir exists
        await once(FLOOR, workspace, "floor/noop")
        times: dict[str, list[tuple[float, float, float]]] = {"floor": [], "smartcache-ls": []}
        for r in range(args.rounds):
            mine = ours(base / f"cache{r}" if args.cold else cache)
            runs = [("floor", FLOOR, "floor/noop"), ("smartcache-ls", mine, "smartcache/stats")]
            for name, command, first in runs if r % 2 == 0 else runs[::-1]:
                times[name].append(await once(command, workspace, first))
    rows: list[list[object]] = []
    floor_init = statistics.median(t for t, _, _ in times["floor"])
    floor_first = statistics.median(t for _, t, _ in times["floor"])
    floor_cpu = statistics.median(c for _, _, c in times["floor"])
    for name, samples in times.items():
        init_ms = [t * 1000 for t, _, _ in samples]
        first_ms = [t * 1000 for _, t, _ in samples]
        cpu = statistics.median(c for _, _, c in samples)
        rows.append(
            [
                name,
                statistics.median(init_ms),
                percentile(init_ms, 90),
                statistics.median(first_ms),
                statistics.median(init_ms) / (floor_init * 1000),
                statistics.median(first_ms) / (floor_first * 1000),
                cpu * 1000,
                cpu / floor_cpu,
            ]
        )
    print(
        f"spawn -> initialize reply, {args.rounds} rounds each, interleaved "
        f"({'fresh' if args.cold else 'existing'} cache dir); ms"
    )
    print(
        table(
            [
                "server",
                "init p50",
                "init p90",
                "first request p50",
                "init x floor",
                "first x floor",
                "CPU to init",
                "CPU x floor",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
