"""Real code, real navigation: each trace played through a real server process.

    .venv/bin/python bench/replay_real.py [TRACE...] [--workspaces DIR] [--think-cap 2.0] [--json]

For every trace (default: ``../shared/traces/real/nav-real-*.jsonl``) and for prefetch on
and off: its workspace (the header's ``workspace`` under ``--workspaces``) is copied to a
temp dir, a server starts on a fresh cache dir, and once its background index is built
(the time is printed) the trace is played as an editor would: before each switch
``smartcache/predict`` (k=5: top-3, top-5, and MRR over those 5) for the current file, then
``didOpen`` of the next file (text as on disk, CRLF kept), ``smartcache/getAnalysis``, and on
the trace's edit events three keystrokes 120 ms apart, each a ``didChange`` followed by a
``smartcache/predict`` (k=1) whose round trip is the didChange latency; then ``didClose``.
Between switches the developer "thinks": the bench waits until the prefetcher is idle, at most
the trace's own gap and at most ``--think-cap`` seconds (polled with ``smartcache/stats``,
which is not timed), the same way with prefetch off.

Printed per trace and in total: top-3/top-5 and MRR of predict vs a recency list (the files
of this session, most recent first); analysis hit rate vs the demand ceiling
(1 - distinct/opens); first visits served warm (getAnalysis answered from a cache tier for a
file not yet opened in the trace); the server's prefetch precision, files and CPU seconds per
switch (p95); request and didChange latency p50/p99 with prefetch on vs off. Timings are taken
on whatever else the machine is running: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import ROOT, ours, percentile, start, table, wait_index

from smartcache_ls.paths import path_to_uri
from smartcache_ls.predict.traces import read_trace

# ../shared beside the checkout (a worktree one level deeper finds it one level up)
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()), ROOT)
CACHE_SOURCES = {"memory", "sqlite", "redis"}
KEYSTROKES = 3  # didChange probes per edit event of the trace ...
KEYSTROKE_GAP = 0.12  # ... at a typist's pace, each gap longer than the engine's quiet period


def switches(events: list[Any]) -> list[tuple[str, float, bool]]:
    """(path, t, has an edit) per switch, consecutive repeats collapsed."""
    out: list[tuple[str, float, bool]] = []
    for ev in events:
        if out and out[-1][0] == ev.path:
            if ev.event == "edit":
                out[-1] = (out[-1][0], out[-1][1], True)
            continue
        out.append((ev.path, ev.t, ev.event == "edit"))
    return out


async def wait_idle(client: Any, budget: float) -> None:
    deadline = time.perf_counter() + budget
    while time.perf_counter() < deadline:
        prefetch = (await client.request("smartcache/stats", {}))["prefetch"]
        if not prefetch.get("queued") and prefetch.get("completed", 0) + prefetch.get("failed", 0) >= (
            prefetch.get("submitted", 0) - prefetch.get("superseded", 0) - prefetch.get("dropped", 0)
        ):
            return
        await asyncio.sleep(0.02)


async def play(trace: Path, source: Path, prefetch: bool, think_cap: float) -> dict[str, Any]:
    _, events = read_trace(trace)
    steps = switches(events)
    with tempfile.TemporaryDirectory(prefix="replay-real-") as tmp:
        ws = Path(tmp) / source.name
        shutil.copytree(source, ws, symlinks=True)
        options = {"prefetch": {"enabled": prefetch}}
        client = await start(ours(Path(tmp) / "cache"), ws, options)
        try:
            index_s = await wait_index(client)
            recent: list[str] = []
            out: dict[str, Any] = {
                "opens": 0,
                "hits": 0,
                "first": 0,
                "firstWarm": 0,
                "n": 0,
                "top3": 0,
                "top5": 0,
                "rr": 0.0,
                "rec3": 0,
                "rec5": 0,
                "recRr": 0.0,
                "req": [],
                "change": [],
                "index": index_s,
            }
            seen: set[str] = set()
            for i, (rel, t, edit) in enumerate(steps):
                uri = path_to_uri(ws / rel)
                if recent:
                    t0 = time.perf_counter()
                    ranked = await client.request(
                        "smartcache/predict", {"uri": path_to_uri(ws / recent[0]), "k": 5}
                    )
                    out["req"].append(time.perf_counter() - t0)
                    got = [r["uri"] for r in ranked]
                    rec = [path_to_uri(ws / p) for p in recent[1:6]]
                    out["n"] += 1
                    for (k3, k5, krr), lst in (
                        (("top3", "top5", "rr"), got),
                        (("rec3", "rec5", "recRr"), rec),
                    ):
                        rank = lst.index(uri) + 1 if uri in lst else 0
                        out[k3] += 1 if 0 < rank <= 3 else 0
                        out[k5] += 1 if 0 < rank <= 5 else 0
                        out[krr] += 1.0 / rank if rank else 0.0
                text = (ws / rel).read_bytes().decode("utf-8", "replace")  # CRLF kept
                client.notify(
                    "textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "java", "version": 1, "text": text}},
                )
                t0 = time.perf_counter()
                analysis = await client.request("smartcache/getAnalysis", {"uri": uri})
                out["req"].append(time.perf_counter() - t0)
                out["opens"] += 1
                warm = analysis["source"] in CACHE_SOURCES
                out["hits"] += 1 if warm else 0
                if rel not in seen:
                    out["first"] += 1 if recent else 0
                    out["firstWarm"] += 1 if warm and recent else 0
                seen.add(rel)
                for j in range(KEYSTROKES if edit else 0):
                    change = {
                        "textDocument": {"uri": uri, "version": 2 + j},
                        "contentChanges": [{"text": text + "\n" * (j + 1)}],
                    }
                    t0 = time.perf_counter()
                    client.notify("textDocument/didChange", change)
                    await client.request("smartcache/predict", {"uri": uri, "k": 1})
                    out["change"].append(time.perf_counter() - t0)
                    await asyncio.sleep(KEYSTROKE_GAP)
                client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
                recent = [rel, *(p for p in recent if p != rel)]
                if i + 1 < len(steps):
                    gap = max(0.0, steps[i + 1][1] - t)
                    await wait_idle(client, min(gap, think_cap))
            out["stats"] = (await client.request("smartcache/stats", {}))["prefetch"]
            out["distinct"] = len(seen)
            return out
        finally:
            await client.close()


def summary(name: str, on: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    n = on["n"] or 1
    ceiling = 1 - on["distinct"] / on["opens"] if on["opens"] else 0.0
    stats = on["stats"]
    return {
        "trace": name,
        "switches": on["n"],
        "top3": on["top3"] / n,
        "recTop3": on["rec3"] / n,
        "top5": on["top5"] / n,
        "recTop5": on["rec5"] / n,
        "mrr": on["rr"] / n,
        "recMrr": on["recRr"] / n,
        "hit": on["hits"] / on["opens"],
        "hitOff": off["hits"] / off["opens"],
        "ceiling": ceiling,
        "firstWarm": on["firstWarm"] / on["first"] if on["first"] else 0.0,
        "first": on["first"],
        "precision": stats.get("precision", 0.0),
        "filesP95": stats.get("filesPerSwitchP95", 0.0),
        "cpuP95": stats.get("cpuPerSwitchP95", 0.0),
        "leadP50": stats.get("leadTimeP50", 0.0),
        "reqOn": on["req"],
        "reqOff": off["req"],
        "chOn": on["change"],
        "chOff": off["change"],
        "index": on["index"],
        "raw": {"on": on, "off": off},
    }


def pooled(rows: list[dict[str, Any]], name: str = "TOTAL") -> dict[str, Any]:
    def add(key: str) -> float:
        return float(sum(r["raw"]["on"][key] for r in rows))

    n = add("n") or 1
    opens = add("opens")
    distinct = sum(r["raw"]["on"]["distinct"] for r in rows)
    prefetched = sum(r["raw"]["on"]["stats"].get("prefetchedFiles", 0) for r in rows)
    used = sum(r["raw"]["on"]["stats"].get("usedFiles", 0) for r in rows)
    return {
        "trace": name,
        "switches": int(add("n")),
        "top3": add("top3") / n,
        "recTop3": add("rec3") / n,
        "top5": add("top5") / n,
        "recTop5": add("rec5") / n,
        "mrr": add("rr") / n,
        "recMrr": add("recRr") / n,
        "hit": add("hits") / opens,
        "hitOff": sum(r["raw"]["off"]["hits"] for r in rows) / opens,
        "ceiling": 1 - distinct / opens,
        "firstWarm": add("firstWarm") / (add("first") or 1),
        "first": int(add("first")),
        "precision": used / prefetched if prefetched else 0.0,
        "filesP95": max(r["filesP95"] for r in rows),
        "cpuP95": max(r["cpuP95"] for r in rows),
        "leadP50": percentile([r["leadP50"] for r in rows], 50),
        "reqOn": [x for r in rows for x in r["reqOn"]],
        "reqOff": [x for r in rows for x in r["reqOff"]],
        "chOn": [x for r in rows for x in r["chOn"]],
        "chOff": [x for r in rows for x in r["chOff"]],
        "index": sum(r["index"] for r in rows),
    }


def ms(values: list[float], q: float) -> float:
    return 1000 * percentile(values, q)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="*", type=Path)
    parser.add_argument("--workspaces", type=Path, default=SHARED / "workspaces")
    parser.add_argument("--think-cap", type=float, default=2.0, help="longest wait between switches (s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    traces = args.traces or sorted((SHARED / "traces" / "real").glob("nav-real-*.jsonl"))
    rows: list[dict[str, Any]] = []
    sets: dict[str, list[dict[str, Any]]] = {}
    for trace in traces:
        header, _ = read_trace(trace)
        source = args.workspaces / str(header.get("workspace"))
        on = asyncio.run(play(trace, source, True, args.think_cap))
        off = asyncio.run(play(trace, source, False, args.think_cap))
        rows.append(summary(trace.stem, on, off))
        sets.setdefault(source.name, []).append(rows[-1])
        print(f"{trace.stem}: done", file=sys.stderr)
    total = pooled(rows)
    groups = [pooled(members, f"TOTAL {name}") for name, members in sets.items()] if len(sets) > 1 else []
    every = [*rows, *groups, total]
    if args.json:
        for r in every:
            r.pop("raw", None)
        print(json.dumps(every, indent=2))
        return 0
    head = [
        "trace",
        "switches",
        "top3",
        "rec",
        "top5",
        "rec",
        "MRR",
        "rec",
        "hit%",
        "off%",
        "ceil%",
        "firstWarm%",
        "prec%",
        "files p95",
        "cpu-s p95",
        "index s",
    ]
    print(
        table(
            head,
            [
                [
                    r["trace"],
                    r["switches"],
                    r["top3"] * 100,
                    r["recTop3"] * 100,
                    r["top5"] * 100,
                    r["recTop5"] * 100,
                    r["mrr"],
                    r["recMrr"],
                    r["hit"] * 100,
                    r["hitOff"] * 100,
                    r["ceiling"] * 100,
                    r["firstWarm"] * 100,
                    r["precision"] * 100,
                    r["filesP95"],
                    r["cpuP95"],
                    r["index"],
                ]
                for r in every
            ],
        )
    )
    print()
    head = ["trace", "req p50 on", "off", "req p99 on", "off", "p99 on/off", "change p99 on", "off", "on/off"]
    lat = []
    for r in every:
        p99_on, p99_off = ms(r["reqOn"], 99), ms(r["reqOff"], 99)
        c_on, c_off = ms(r["chOn"], 99), ms(r["chOff"], 99)
        lat.append(
            [
                r["trace"],
                ms(r["reqOn"], 50),
                ms(r["reqOff"], 50),
                p99_on,
                p99_off,
                p99_on / p99_off if p99_off else 0.0,
                c_on,
                c_off,
                c_on / c_off if c_off else 0.0,
            ]
        )
    print(table(head, lat))
    t = total
    print(
        f"\nTOTAL: first visits served warm {100 * t['firstWarm']:.1f}% of {t['first']}; analysis hit "
        f"{100 * t['hit']:.1f}% vs ceiling {100 * t['ceiling']:.1f}% (+{100 * (t['hit'] - t['ceiling']):.1f} "
        f"points; prefetch off {100 * t['hitOff']:.1f}%); "
        f"top-3 {t['top3'] / (t['recTop3'] or 1):.2f}x recency, "
        f"MRR {t['mrr'] / (t['recMrr'] or 1):.2f}x; prefetch precision {100 * t['precision']:.1f}%; "
        f"per switch p95 (worst trace) {t['filesP95']:.0f} files, {t['cpuP95']:.3f} CPU-s  (latencies in ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
