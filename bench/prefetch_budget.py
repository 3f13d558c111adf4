"""What the prefetch budget buys: first visits served warm against files and CPU per switch.

    .venv/bin/python bench/prefetch_budget.py [--budgets 4:4096,8:4096,...] [TRACE...]

The defaults of ``prefetch.maxFiles`` and ``prefetch.maxKB`` are chosen from this table.
Each trace (default: ``../shared/traces/real/nav-real-*.jsonl``) is played through the
server's engine in-process (no LSP: the same engine, predictor, planner, prefetcher and
statistics), on a temp copy of its workspace and a fresh cache dir per run, once the
background index is built: didOpen of each next file (text as on disk), getAnalysis,
didClose, then the prefetcher is left to finish. Printed per budget, all traces pooled:
first visits served warm, prefetch precision, files and CPU seconds per switch (p95, worst
trace), and the analysis CPU seconds prefetch spent in all. Timings are taken under whatever
else runs on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import ROOT, table

from smartcache_ls.engine import Engine
from smartcache_ls.paths import path_to_uri
from smartcache_ls.predict.traces import read_trace
from smartcache_ls.settings import PrefetchSettings, Settings

SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()), ROOT)


def play(trace: Path, source: Path, max_files: int, max_kb: int) -> dict[str, Any]:
    _, events = read_trace(trace)
    with tempfile.TemporaryDirectory(prefix="prefetch-budget-") as tmp:
        ws_dir = Path(tmp) / source.name
        shutil.copytree(source, ws_dir, symlinks=True)
        settings = Settings(prefetch=PrefetchSettings(max_files=max_files, max_kb=max_kb))
        engine = Engine(settings, Path(tmp) / "cache", watch=False)
        try:
            engine.add_folder(path_to_uri(ws_dir))
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not engine.stats()["graph"]["files"]:
                time.sleep(0.05)
            engine.index.builder.wait_idle(120)
            current = None
            for ev in events:
                if ev.path == current:
                    continue
                current = ev.path
                uri = path_to_uri(ws_dir / ev.path)
                engine.did_open(uri, (ws_dir / ev.path).read_bytes().decode("utf-8", "replace"), 1)
                engine.get_analysis(uri)
                engine.did_close(uri)
                time.sleep(0.06)  # past the engine's quiet period, as a developer reading the file
                engine.prefetcher.wait_idle(30)
            return dict(engine.stats()["prefetch"])
        finally:
            engine.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="*", type=Path)
    parser.add_argument("--workspaces", type=Path, default=SHARED / "workspaces")
    parser.add_argument(
        "--budgets",
        default="4:4096,8:4096,16:4096,32:4096,64:4096,32:256,32:1024",
        help="maxFiles:maxKB pairs, comma-separated",
    )
    args = parser.parse_args(argv)
    traces = args.traces or sorted((SHARED / "traces" / "real").glob("nav-real-*.jsonl"))
    rows = []
    for pair in args.budgets.split(","):
        budget, max_kb = (int(x) for x in pair.split(":"))
        runs = []
        for trace in traces:
            header, _ = read_trace(trace)
            runs.append(play(trace, args.workspaces / str(header["workspace"]), budget, max_kb))
        first = sum(r["firstVisits"] for r in runs)
        warm = sum(r["firstVisitsWarm"] for r in runs)
        prefetched = sum(r["prefetchedFiles"] for r in runs)
        used = sum(r["usedFiles"] for r in runs)
        cpu = sum(r["wastedCpuSeconds"] for r in runs)
        rows.append(
            [
                budget,
                max_kb,
                100.0 * warm / (first or 1),
                100.0 * used / (prefetched or 1),
                prefetched,
                max(r["filesPerSwitchP95"] for r in runs),
                max(r["cpuPerSwitchP95"] for r in runs),
                cpu,
            ]
        )
        print(f"budget {pair}: done", file=sys.stderr)
    head = [
        "maxFiles",
        "maxKB",
        "first warm %",
        "precision %",
        "prefetched",
        "files p95",
        "cpu-s p95",
        "unused cpu-s",
    ]
    print(table(head, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
