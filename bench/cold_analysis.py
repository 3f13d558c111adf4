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
- ``analyze()`` in this process, one thread (what bench/analysis.py times).

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

from harness import FLOOR, ROOT, ours, start, table

from smartcache_ls.analysis import analyze
from smartcache_ls.analysis.languages import language_for
from smartcache_ls.paths import path_to_uri

MAX_FILE = 256 * 1024
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
) -> tuple[float, int]:
    """Seconds to answer every call with ``concurrency`` in flight; and how many failed."""
    client = await start(command, tree, options)
    try:
        await client.request("smartcache/stats" if "smartcache_ls" in command else "floor/noop", {})
        await asyncio.sleep(1.0)  # let the server's start-up work (index, workers) settle
        gate = asyncio.Semaphore(concurrency)
        failed = 0

        async def one(method: str, params: dict[str, object]) -> None:
            nonlocal failed
            async with gate:
                try:
                    await client.request(method, params)
                except Exception:
                    failed += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(m, p) for m, p in calls))
        return time.perf_counter() - t0, failed
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--source", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    args = parser.parse_args()

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
        calls = [("smartcache/getAnalysis", {"uri": path_to_uri(tree / r)}) for r in rels]
        rows: list[list[object]] = []
        results: dict[str, float] = {}

        def add(name: str, seconds: float, note: str = "") -> None:
            results[name] = len(rels) / seconds
            rows.append([name, seconds, results[name], note])

        for name, options in (
            ("smartcache-ls (worker pool)", None),
            ("smartcache-ls (analysisWorkers 0)", {"analysisWorkers": 0}),
        ):
            cache = Path(tmp) / f"cache-{len(rows)}"
            seconds, failed = asyncio.run(time_requests(ours(cache), tree, options, calls, args.concurrency))
            add(name, seconds, f"{failed} failed" if failed else "")
        floor_calls = [("floor/noop", {}) for _ in rels]
        seconds, _ = asyncio.run(time_requests(FLOOR, tree, None, floor_calls, args.concurrency))
        add("pygls floor (no-op requests)", seconds)
        ctags = find_ctags()
        if ctags is not None:
            add("universal ctags", time_ctags(ctags, tree, rels))
        texts = [(r, (tree / r).read_text(encoding="utf-8")) for r in rels]
        t0 = time.perf_counter()
        for rel, text in texts:
            analyze(rel, text)
        add("analyze() in-process, 1 thread", time.perf_counter() - t0, "no I/O, no LSP")

        print(table(["run", "seconds", "files/s", "note"], rows))
        pool = results["smartcache-ls (worker pool)"]
        print(f"worker pool / analysisWorkers 0: {pool / results['smartcache-ls (analysisWorkers 0)']:.2f}x")
        print(f"worker pool / pygls floor:        {pool / results['pygls floor (no-op requests)']:.2f}x")
        if "universal ctags" in results:
            vs_ctags = pool / results["universal ctags"]
            print(f"worker pool / ctags:              {vs_ctags:.3f}x (target >= 0.25)")
        print(f"worker pool: {pool:,.0f} files/s (target >= 1,000 on 2 cores)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
