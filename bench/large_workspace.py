"""Large workspaces: initialize, ready, event-loop stalls, RSS and inotify watches, against the floor.

For generated trees of N files (about 100 per directory, plus a node_modules of N/5
files in small packages, a build/ and a .gitignored generated/ folder of N/50 files
each, and a git history of a few hundred commits after an initial one that adds
everything), each round spawns the pygls floor and smartcache-ls (fresh cache dir)
on the tree and measures, from the client:

- initialize: spawn -> initialize reply (ratio to the floor's median), also over
  ``--init-rounds`` extra start-ups of each (spawn, initialize, exit; interleaved);
- ready: initialize reply -> ``smartcache/stats`` reporting the workspace indexed
  (watches set up, files scanned, git history loaded), and the server's own figure;
- stall: from the initialize reply until 1 s after ready, every 10 ms the editor's
  traffic: ``smartcache/didFocus`` of a workspace file (the floor ignores it) then an
  unknown-method request that pygls answers on its event loop (MethodNotFound); the
  worst and p99 reply latency. The floor gets the same probe for the same time;
- RSS: VmRSS of the server 2 s after ready, and ``+workers``: with its analysis worker
  processes (children of the server; the floor has none);
- watches: inotify watches of the server process (/proc/PID/fdinfo), mapped to the
  tree's directories, and how many of them lie in an ignored directory.
- with ``--indexed``: then on until the background index holds every file (the editor
  idle: the probe without didFocus), its time, the worst stall meanwhile and the RSS 2 s
  after (the "RSS" column is taken while the index is still being built).

Trees are generated once under /tmp (keyed by N) and reused.

    python bench/large_workspace.py [--sizes 1000,10000,100000] [--rounds 2] [--init-rounds 8] [--indexed]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import FLOOR, ours, percentile, start, table

from smartcache_ls.ignore import IgnoreRules
from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import RpcError, StdioRpcClient
from tests.inotify import inotify_inodes  # the watches the tests count, read the same way

TREE_VERSION = 1
PER_DIR = 100
COMMITS = 300
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def _source_files(n: int) -> list[str]:
    return [f"src/pkg{i // (PER_DIR * 10):03d}/mod{i // PER_DIR:04d}/file{i:06d}.py" for i in range(n)]


def _text(rel: str, salt: int = 0) -> bytes:
    name = Path(rel).stem
    return (
        f"import os\nfrom pathlib import Path\n\n\nclass {name.title()}:\n"
        f"    def run(self):\n        return {salt}\n\n\ndef make_{name}():\n    return {name.title()}()\n"
    ).encode()


def generate(n: int) -> Path:
    """The tree of ``n`` source files (cached under /tmp; reused while complete)."""
    root = Path(tempfile.gettempdir()) / f"smartcache-bench-tree-v{TREE_VERSION}-{n}"
    if (root / ".complete").is_file():
        return root
    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    ws = root / "ws"
    sources = _source_files(n)
    extra = [f"node_modules/pkg{i // 8:05d}/lib/index{i % 8}.js" for i in range(n // 5)]
    extra += [f"build/out{i // PER_DIR:04d}/obj{i}.o" for i in range(n // 50)]
    extra += [f"generated/part{i // PER_DIR:04d}/gen{i}.py" for i in range(n // 50)]
    for rel in sources + extra:
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_text(rel))
    (ws / ".gitignore").write_bytes(b"generated/\n*.o\n")
    _history(ws, sources)
    (root / ".complete").write_text(f"{n} files in {time.perf_counter() - t0:.1f} s\n")
    return root


def _history(ws: Path, sources: list[str]) -> None:
    """An initial commit of every source file, then COMMITS commits of 2-8 related files each
    (one package mostly), through git fast-import (a commit per ``git commit`` would take minutes)."""
    subprocess.run(["git", "init", "-q", str(ws)], check=True, env=GIT_ENV)
    rng = random.Random(len(sources))
    lines: list[bytes] = []

    def commit(mark: int, files: list[str], salt: int) -> None:  # (each follows the last one)
        when = 1_700_000_000 + mark * 600
        msg = f"commit {mark}".encode()
        lines.append(b"commit refs/heads/main\n")
        lines.append(b"committer Bench <bench@example.com> %d +0000\n" % when)
        lines.append(b"data %d\n%s\n" % (len(msg), msg))
        for rel in files:
            data = _text(rel, salt)
            lines.append(b"M 644 inline %s\ndata %d\n%s\n" % (rel.encode(), len(data), data))

    commit(0, [*sources, ".gitignore"], 0)
    for c in range(1, COMMITS + 1):
        base = rng.randrange(len(sources))
        width = rng.randint(2, 8)
        files = sorted({sources[min(len(sources) - 1, base + rng.randrange(PER_DIR))] for _ in range(width)})
        commit(c, files, c)
    subprocess.run(
        ["git", "-C", str(ws), "fast-import", "--quiet"], input=b"".join(lines), check=True, env=GIT_ENV
    )
    subprocess.run(["git", "-C", str(ws), "symbolic-ref", "HEAD", "refs/heads/main"], check=True, env=GIT_ENV)
    subprocess.run(["git", "-C", str(ws), "reset", "-q"], check=True, env=GIT_ENV)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the analysis workers of a server)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


def dir_inodes(ws: Path) -> dict[int, str]:
    out = {ws.stat().st_ino: ""}
    for dirpath, dirnames, _ in os.walk(ws):
        for name in dirnames:
            path = Path(dirpath) / name
            out[path.lstat().st_ino] = path.relative_to(ws).as_posix()
    return out


def watches(pid: int, ws: Path, by_inode: dict[int, str]) -> tuple[int, int]:
    """(watches, of which in an ignored directory or not in the tree at all)."""
    rules = IgnoreRules(ws)
    inodes = inotify_inodes(pid)
    bad = 0
    for ino in inodes:
        rel = by_inode.get(ino)
        if rel is None or (rel and _ignored_dir(rules, rel)):
            bad += 1
    return len(inodes), bad


def _ignored_dir(rules: IgnoreRules, rel: str) -> bool:
    parts = rel.split("/")
    return any(rules.ignored("/".join(parts[: i + 1]), is_dir=True) for i in range(len(parts)))


async def probe(
    client: StdioRpcClient, uris: list[str], until: asyncio.Event, floor: float
) -> tuple[list[float], float]:
    """Every 10 ms: didFocus of the next uri (none without uris), then a request the event
    loop answers; the latencies, and when the worst one was sent (seconds after the probe
    started)."""
    out: list[float] = []
    started = time.perf_counter()
    worst = (0.0, 0.0)
    i = 0
    t_end: float | None = None
    while True:
        if until.is_set():
            t_end = t_end or time.perf_counter() + floor
            if time.perf_counter() >= t_end:
                return out, worst[1]
        if uris:
            client.notify("smartcache/didFocus", {"uri": uris[i % len(uris)]})
        i += 1
        t0 = time.perf_counter()
        with contextlib.suppress(RpcError):  # MethodNotFound, answered by the event loop
            await client.request("smartcache/$probe", {})
        out.append(time.perf_counter() - t0)
        if out[-1] > worst[0]:
            worst = (out[-1], t0 - started)
        await asyncio.sleep(max(0.0, 0.010 - (time.perf_counter() - t0)))


async def run_ours(
    ws: Path, cache: Path, uris: list[str], by_inode: dict[int, str], indexed: bool = False
) -> dict[str, Any]:
    t0 = time.perf_counter()
    client = await start(ours(cache), ws)
    t_init = time.perf_counter() - t0
    ready = asyncio.Event()
    prober = asyncio.create_task(probe(client, uris, ready, 1.0))
    index: dict[str, Any] = {}
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        stats = await client.request("smartcache/stats", {})
        index = stats["workspaces"][0]["index"]
        if index["state"] == "ready":
            break
        await asyncio.sleep(0.02)
    t_ready = time.perf_counter() - t0 - t_init
    ready.set()
    lat, worst_at = await prober
    await asyncio.sleep(2.0)
    pid = client.proc.pid
    rss = rss_mb(pid)
    workers = children(pid)
    rss_all = rss + sum(rss_mb(c) for c in workers)
    n_watch, bad = watches(pid, ws, by_inode)
    built: dict[str, Any] = {}
    if indexed:  # on until the reference graph holds every file, the editor idle (no focus)
        done = asyncio.Event()
        prober = asyncio.create_task(probe(client, [], done, 0.0))
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < 900:
            graph = (await client.request("smartcache/stats", {}))["graph"]
            if graph["queued"] == 0:
                break
            await asyncio.sleep(0.5)  # (a stats request is not free: see bench/cold_analysis.py)
        built["indexSeconds"] = time.perf_counter() - t1
        done.set()
        during, _ = await prober
        built["indexStall"] = max(during) if during else 0.0
        await asyncio.sleep(2.0)
        built["rssIndexed"] = rss_mb(pid)
        built["graphFiles"] = graph["files"]
    await client.close()
    return {
        **built,
        "init": t_init,
        "ready": t_ready,
        "serverReady": index.get("readySeconds"),
        "phases": index.get("phaseSeconds") or {},
        "files": index.get("files"),
        "commits": index.get("commits"),
        "stall": max(lat) if lat else 0.0,
        "stallAt": worst_at,
        "p99": percentile(lat, 99),
        "rss": rss,
        "rssAll": rss_all,
        "workers": len(workers),
        "watches": n_watch,
        "ignored": bad,
    }


async def start_only(command: list[str], ws: Path) -> float:
    t0 = time.perf_counter()
    client = await start(command, ws)
    elapsed = time.perf_counter() - t0
    await client.close()
    return elapsed


async def run_floor(ws: Path, uris: list[str], seconds: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    client = await start(FLOOR, ws)
    t_init = time.perf_counter() - t0
    ready = asyncio.Event()
    prober = asyncio.create_task(probe(client, uris, ready, seconds))
    ready.set()
    lat, _ = await prober
    await asyncio.sleep(0.5)
    rss = rss_mb(client.proc.pid)
    await client.close()
    return {"init": t_init, "stall": max(lat) if lat else 0.0, "p99": percentile(lat, 99), "rss": rss}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--init-rounds", type=int, default=8)
    parser.add_argument(
        "--indexed",
        action="store_true",
        help="also wait until the background index holds every file: its time, the worst stall "
        "meanwhile (editor idle), the server's RSS then",
    )
    args = parser.parse_args()
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        t0 = time.perf_counter()
        ws = generate(n) / "ws"
        print(f"tree of {n:,} files: {time.perf_counter() - t0:.1f} s to generate or find", flush=True)
        by_inode = dir_inodes(ws)
        files = _source_files(n)
        rng = random.Random(n)
        uris = [path_to_uri(ws / files[rng.randrange(len(files))]) for _ in range(64)]
        mine: list[dict[str, Any]] = []
        floor: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="smartcache-large-") as tmp:
            for r in range(args.rounds):
                ours_first = r % 2 == 1
                if ours_first:
                    mine.append(await run_ours(ws, Path(tmp) / f"c{r}", uris, by_inode, args.indexed))
                seconds = mine[-1]["ready"] + 1.0 if mine else 2.0
                floor.append(await run_floor(ws, uris, seconds))
                if not ours_first:
                    mine.append(await run_ours(ws, Path(tmp) / f"c{r}", uris, by_inode, args.indexed))
            for r in range(args.init_rounds):
                pair = [(floor, FLOOR), (mine, ours(Path(tmp) / f"i{r}"))]
                for runs, command in pair if r % 2 else pair[::-1]:
                    runs.append({"init": await start_only(command, ws)})
        f_init = statistics.median(f["init"] for f in floor)
        for label, runs in (("floor", floor), ("smartcache-ls", mine)):
            init = statistics.median(x["init"] for x in runs)
            full = [x for x in runs if "stall" in x]
            rows.append(
                [
                    f"{n:,}",
                    label,
                    init * 1000,
                    init / f_init,
                    statistics.median(x["ready"] for x in full) * 1000 if label != "floor" else "-",
                    max(x["stall"] for x in full) * 1000,
                    max(x["p99"] for x in full) * 1000,
                    statistics.median(x["rss"] for x in full),
                    statistics.median(x.get("rssAll", x["rss"]) for x in full),
                    max(x.get("watches", 0) for x in full) if label != "floor" else "-",
                    max(x.get("ignored", 0) for x in full) if label != "floor" else "-",
                ]
            )
        for x in (x for x in mine if "stall" in x):
            print(
                f"  ours: server ready {x['serverReady']} s, {x['files']:,} files indexed, "
                f"{x['commits']} commits, worst stall {x['stall'] * 1000:.1f} ms "
                f"{x['stallAt']:.2f} s after initialize; RSS {x['rss']:.1f} MB, "
                f"{x['rssAll']:.1f} MB with its {x['workers']} analysis workers; phases ended at "
                + ", ".join(f"{name} {end} s" for name, end in x["phases"].items()),
                flush=True,
            )
            if "rssIndexed" in x:
                print(
                    f"  ours, background index: {x['graphFiles']:,} files in {x['indexSeconds']:.1f} s "
                    f"after that; worst stall meanwhile {x['indexStall'] * 1000:.1f} ms; "
                    f"RSS then {x['rssIndexed']:.1f} MB",
                    flush=True,
                )
    print(
        f"\nlarge workspaces, {args.rounds} rounds each (+{args.init_rounds} start-ups for initialize), "
        "interleaved with the floor; ms, MB"
    )
    print(
        table(
            [
                "files",
                "server",
                "initialize",
                "x floor",
                "ready",
                "worst stall",
                "p99 probe",
                "RSS",
                "+workers",
                "watches",
                "in ignored",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
