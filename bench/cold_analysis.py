"""Cold analysis throughput over LSP, beside Universal Ctags and the pygls floor, in one run.

A workspace of N real source files (copied from this machine's site-packages by
default: Python, plus whatever C/JS/TS sits there; or ``--source DIR``) is analysed
cold: a fresh server on a fresh cache answers ``smartcache/getAnalysis`` for every
file, ``--concurrency`` requests in flight, as an indexing client would send them.
In the same run, on the same files:

- smartcache-ls with its analysis worker pool (the default), and with
  ``analysisWorkers: 0`` (analysis on the server's own threads, the old design);
- ``ctags`` (Universal Ctags) over the same file list, writing a tags file: the speed
  bar for "what does this file define";
- the protocol floor: ``bench/floor_server.py`` answering as many no-op requests on
  pygls' worker threads at the same concurrency (the fastest any pygls server can
  answer that many requests);
- ``analyze()`` in this process, one thread (what bench/analysis.py times);
- the background index: a fresh server on a fresh cache, no request at all, timed from
  ``initialized`` until its reference graph holds every file (``smartcache/stats``), with the
  CPU per file the server and its workers took meanwhile (on 2 cores both share: the
  server's share is what the index pays beyond its ``graph_fields()`` floor);
- the floors on this machine: as many processes as cores, each reading its share of the
  files and only parsing them with tree-sitter: the UTF-8 bytes with no callbacks
  (``tree-sitter parse (UTF-8 bytes)``), or as the analyser parses (UTF-16 text, read and
  progress callbacks: ``tree-sitter parse``); or running our whole ``analyze()`` on them
  (``analyze()``), or what the background index's worker job computes (``graph_fields()``
  and the symbol table's definitions). No server can beat the ``analyze()`` row, no
  background index the ``graph_fields()`` row, and none that parses every file the first;
  the ratios to them are printed;
- the bounds by CPU: a pygls server that answers each file's request with the parse alone, or
  with ``analyze()``, and does nothing else (no IPC, no cache) spends the floor server's CPU
  per request (measured on its row) beside that work's, on the same cores: cores / (the two
  per file) is the most files/s any such server can answer here, whatever its design.

A request refused by design (a file matching ``secretPatterns``, such as
``botocore/credentials.py``, is never read) is counted apart from failures.

Prints files/s per row and the ratios (target: >= 1,000 files/s on 2 cores, >= 0.25x
ctags). Without ctags it tries ``apt-get install universal-ctags`` (as root), else says
how to install it and leaves its row out.

    .venv/bin/python bench/cold_analysis.py [--files 3000] [--concurrency 16] [--source DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import FLOOR, ROOT, cpu_mark, cpu_since, ours, start, table

from smartcache_ls.analysis import analyze
from smartcache_ls.analysis.languages import language_for
from smartcache_ls.paths import path_to_uri

MAX_FILE = 256 * 1024
POLL = 0.25  # seconds between the index row's stats requests (its figure is good to this)
EXTS = (".py", ".c", ".h", ".js", ".ts", ".go", ".rs", ".java", ".cpp")


def pick_files(source: Path, n: int) -> list[Path]:
    """Up to ``n`` source files under ``source`` (sorted, deterministic), each at most MAX_FILE."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", ".git", "node_modules"))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix in EXTS and not path.is_symlink():
                try:
                    size = path.stat().st_size
                    if 0 < size <= MAX_FILE:
                        path.read_bytes().decode("utf-8")
                        found.append(path)
                except (OSError, UnicodeDecodeError):
                    continue
            if len(found) >= n:
                return found
    return found


def make_tree(files: list[Path], source: Path, dest: Path) -> list[str]:
    rels = []
    for path in files:
        rel = path.relative_to(source).as_posix()
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        rels.append(rel)
    return rels


def find_ctags() -> str | None:
    ctags = shutil.which("ctags")
    if ctags is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("ctags missing: apt-get install universal-ctags ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "universal-ctags"], check=False)
        ctags = shutil.which("ctags")
    if ctags is None:
        print("no ctags: install Universal Ctags (Debian: apt-get install universal-ctags) for its row")
        return None
    version = subprocess.run([ctags, "--version"], capture_output=True, text=True).stdout
    if "Universal Ctags" not in version:
        print(f"{ctags} is not Universal Ctags: its row is left out")
        return None
    return ctags


def time_ctags(ctags: str, tree: Path, rels: list[str]) -> float:
    listing = tree.parent / "files.txt"
    listing.write_text("\n".join(rels) + "\n")
    t0 = time.perf_counter()
    tags = tree.parent / "tags"
    subprocess.run([ctags, "-L", str(listing), "-f", str(tags)], cwd=tree, check=True)
    return time.perf_counter() - t0


async def time_requests(
    command: list[str],
    tree: Path,
    options: dict[str, object] | None,
    calls: list[tuple[str, dict[str, object]]],
    concurrency: int,
) -> tuple[float, int, list[str], float, float]:
    """Seconds to answer every call with ``concurrency`` in flight; how many failed; the
    messages of the refusals by design (secrets); the CPU seconds the server and its workers
    (its children) took meanwhile."""
    client = await start(command, tree, options)
    try:
        await client.request("smartcache/stats" if "smartcache_ls" in command else "floor/noop", {})
        await asyncio.sleep(1.0)  # let the server's start-up work (index, workers) settle
        gate = asyncio.Semaphore(concurrency)
        failed = 0
        refused: list[str] = []

        async def one(method: str, params: dict[str, object]) -> None:
            nonlocal failed
            async with gate:
                try:
                    await client.request(method, params)
                except Exception as exc:
                    if "matches secretPatterns" in str(exc):
                        refused.append(str(exc))
                    else:
                        failed += 1

        mark = cpu_mark(client.proc.pid)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(m, p) for m, p in calls))
        seconds = time.perf_counter() - t0
        return seconds, failed, refused, *cpu_since(client.proc.pid, mark)
    finally:
        await client.close()


async def time_index(command: list[str], tree: Path, expected: int) -> tuple[float, dict[str, Any]]:
    """Seconds from ``initialized`` until the background index holds ``expected`` files (or
    stops growing with nothing queued); the server's graph statistics then, with the CPU
    seconds the server and its workers took since ``initialized`` (``serverCpu``,
    ``workersCpu``: the workers' boots included), which say where the time goes."""
    client = await start(command, tree)
    mark = cpu_mark(client.proc.pid)
    t0 = time.perf_counter()
    last, since = -1, t0
    try:
        while True:
            stats = await client.request("smartcache/stats", {})
            graph = stats["graph"]
            done = graph["analysed"] + graph["reused"] + graph["dropped"] + graph["failed"]
            now = time.perf_counter()
            if done != last:
                last, since = done, now
            # (the workspace index may leave files out: ignored ones; then it stops short)
            if graph["queued"] == 0 and done and (done >= expected or now - since > 2.0):
                graph["serverCpu"], graph["workersCpu"] = cpu_since(client.proc.pid, mark)
                return (since if done < expected else now) - t0, graph
            if now - t0 > 600:
                raise TimeoutError(f"index not done after 600 s: {graph}")
            # (a stats request is not free: polled every 20 ms it took 7 s of the server's CPU
            # and made the index 1.6x slower; every 0.25 s it costs nothing measurable)
            await asyncio.sleep(POLL)
    finally:
        await client.close()


def floor_child(mode: str, listing: Path, part: int, parts: int) -> None:
    """One floor process: read its share of the files and parse (or analyse) each; prints the
    seconds its share took (after its imports and grammars loaded)."""
    from smartcache_ls.analysis.graph_fields import graph_fields
    from smartcache_ls.analysis.languages import GRAMMARS, get_parser, parse
    from smartcache_ls.index.symbols import NESTED_KINDS, definitions

    for name in GRAMMARS:
        get_parser(name)
    paths = listing.read_text().splitlines()[part::parts]
    t0 = time.perf_counter()
    c0 = time.process_time()
    for path in paths:
        data = Path(path).read_bytes()
        language = language_for(path)
        if mode == "raw":  # tree-sitter alone: the UTF-8 bytes, no callbacks
            parser = get_parser(language) if language is not None else None
            if parser is not None:
                parser.parse(data)
            continue
        text = data.decode("utf-8")
        if mode == "parse":  # the analyser's parse: UTF-16, read and progress callbacks
            if language is not None:
                parse(language, text.encode("utf-16-le"))
        elif mode == "index":  # what the background index's worker job computes
            definitions(graph_fields(path, text, NESTED_KINDS)["symbols"])
        else:
            analyze(path, text)
    print(time.perf_counter() - t0, time.process_time() - c0)


def time_floor(mode: str, tree: Path, rels: list[str], processes: int) -> tuple[float, float]:
    """Seconds for ``processes`` floor processes to get through the files (the slowest one),
    and the CPU seconds they took in all (on a shared machine the wall time holds other
    processes' turns; files / (CPU / processes) is the rate the cores would give alone)."""
    listing = tree.parent / f"floor-{mode}.txt"
    listing.write_text("\n".join(str(tree / r) for r in rels) + "\n")
    script = Path(__file__).resolve()
    children = [
        subprocess.Popen(
            [sys.executable, str(script), "--floor-child", mode, str(listing), str(i), str(processes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    times = [child.communicate()[0].split() or ["nan"] for child in children]
    return max(float(t[0]) for t in times), sum(float(t[1]) for t in times if len(t) > 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--source", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument(
        "--rows",
        choices=("all", "lsp", "floors"),
        default="all",
        help="all rows, or only the servers' rows (lsp), or only the floors and ctags (floors)",
    )
    parser.add_argument("--floor-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_child:
        mode, listing, part, parts = args.floor_child
        floor_child(mode, Path(listing), int(part), int(parts))
        return

    files = pick_files(args.source, args.files)
    with tempfile.TemporaryDirectory(prefix="cold-analysis-") as tmp:
        tree = Path(os.path.realpath(tmp)) / "ws"
        rels = make_tree(files, args.source, tree)
        total = sum((tree / r).stat().st_size for r in rels)
        langs: dict[str, int] = {}
        for rel in rels:
            lang = language_for(rel) or "other"
            langs[lang] = langs.get(lang, 0) + 1
        print(f"{len(rels)} files, {total / 1e6:.1f} MB from {args.source}: {dict(sorted(langs.items()))}")
        cores = len(os.sched_getaffinity(0))
        print(f"cores: {cores}; concurrency {args.concurrency}; load average {os.getloadavg()[0]:.1f}")
        calls: list[tuple[str, dict[str, object]]] = [
            ("smartcache/getAnalysis", {"uri": path_to_uri(tree / r)}) for r in rels
        ]
        rows: list[list[object]] = []
        results: dict[str, float] = {}

        def add(name: str, seconds: float, note: str = "") -> None:
            results[name] = len(rels) / seconds
            rows.append([name, seconds, results[name], note])

        refusals: list[str] = []
        request_cpu: float | None = None  # the pygls floor's server CPU per request
        lsp = args.rows in ("all", "lsp")
        servers: tuple[tuple[str, dict[str, object] | None], ...] = (
            ("smartcache-ls (worker pool)", None),
            ("smartcache-ls (analysisWorkers 0)", {"analysisWorkers": 0}),
        )
        for name, options in servers if lsp else ():
            cache = Path(tmp) / f"cache-{len(rows)}"
            seconds, failed, refused, cpu, kids_cpu = asyncio.run(
                time_requests(ours(cache), tree, options, calls, args.concurrency)
            )
            notes = [f"{failed} failed"] if failed else []
            per_file = f"server {1000 * cpu / len(rels):.2f} ms, workers {1000 * kids_cpu / len(rels):.2f} ms"
            notes.append(f"CPU per file: {per_file}")
            if refused:
                notes.append(f"{len(refused)} refused: secret")
                refusals = refused
            add(name, seconds, ", ".join(notes))
        if lsp:
            indexed = [r for r in rels if language_for(r) is not None]
            seconds, graph = asyncio.run(time_index(ours(Path(tmp) / "cache-index"), tree, len(indexed)))
            in_graph = int(graph["files"])
            results["background index"] = in_graph / seconds
            rows.append(
                [
                    "background index (no requests)",
                    seconds,
                    results["background index"],
                    f"{graph['analysed']} analysed, {graph['dropped']} refused, {graph['failed']} failed; "
                    f"CPU per file: server {1000 * graph['serverCpu'] / in_graph:.2f} ms, "
                    f"workers {1000 * graph['workersCpu'] / in_graph:.2f} ms",
                ]
            )
            floor_calls: list[tuple[str, dict[str, object]]] = [("floor/noop", {}) for _ in rels]
            seconds, _, _, cpu, _ = asyncio.run(
                time_requests(FLOOR, tree, None, floor_calls, args.concurrency)
            )
            request_cpu = cpu / len(rels)
            note = f"server CPU per request {1000 * request_cpu:.2f} ms"
            add("pygls floor (no-op requests)", seconds, note)
        if args.rows in ("all", "floors"):
            for mode, label in (
                ("raw", "tree-sitter parse (UTF-8 bytes)"),
                ("parse", "tree-sitter parse"),
                ("analyze", "analyze()"),
                ("index", "graph_fields()"),
            ):
                seconds, cpu = time_floor(mode, tree, rels, cores)
                add(f"floor: {label}, {cores} processes", seconds)
                by_cpu = len(rels) / (cpu / cores)
                results[f"floor by CPU: {label}"] = by_cpu
                rows[-1][3] = (
                    f"read + work, no IPC; {cpu:.2f} CPU s: {by_cpu:,.0f} files/s on {cores} idle cores"
                )
                if request_cpu is not None and mode in ("parse", "analyze"):
                    # A server that answers each file with this work (and nothing else: no IPC,
                    # no cache) spends the floor's CPU per request beside it, on the same cores.
                    results[f"bound: pygls request + {label}"] = cores / (request_cpu + cpu / len(rels))
            ctags = find_ctags()
            if ctags is not None:
                add("universal ctags", time_ctags(ctags, tree, rels))
            texts = [(r, (tree / r).read_text(encoding="utf-8")) for r in rels]
            t0 = time.perf_counter()
            for rel, text in texts:
                analyze(rel, text)
            add("analyze() in-process, 1 thread", time.perf_counter() - t0, "no I/O, no LSP")

        print(table(["run", "seconds", "files/s", "note"], rows))
        for message in refusals:
            print(f"refused by design: {message}")
        pool = "smartcache-ls (worker pool)"
        raw = f"floor: tree-sitter parse (UTF-8 bytes), {cores} processes"
        parsed = f"floor: tree-sitter parse, {cores} processes"
        whole = f"floor: analyze(), {cores} processes"
        fields = f"floor: graph_fields(), {cores} processes"
        index, ctags_row = "background index", "universal ctags"
        for a, b, target in (
            (pool, "smartcache-ls (analysisWorkers 0)", ""),
            (pool, "pygls floor (no-op requests)", ""),
            (pool, ctags_row, " (target >= 0.25)"),
            (pool, whole, ""),
            (index, fields, ""),
            (index, ctags_row, " (target >= 0.25)"),
            (fields, ctags_row, ""),
            ("floor by CPU: graph_fields()", ctags_row, ""),
            (whole, parsed, ""),
            (parsed, raw, ""),
            (parsed, ctags_row, ""),
            (raw, ctags_row, ""),
            (pool, "floor by CPU: analyze()", ""),
            (pool, "bound: pygls request + analyze()", ""),
            ("bound: pygls request + analyze()", "universal ctags", ""),
            ("floor by CPU: analyze()", ctags_row, ""),
            ("floor by CPU: tree-sitter parse", ctags_row, ""),
        ):
            if a in results and b in results:
                print(f"{a} / {b}: {results[a] / results[b]:.3f}x{target}")
        for name in ("bound: pygls request + tree-sitter parse", "bound: pygls request + analyze()"):
            if name in results:
                print(f"{name}: {results[name]:,.0f} files/s on {cores} idle cores, by CPU")
        if pool in results:
            print(f"worker pool: {results[pool]:,.0f} files/s (target >= 1,000 on 2 cores)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
