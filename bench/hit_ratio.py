"""Hit ratio of smartcache's MemoryTier (W-TinyLFU) beside libCacheSim's policies.

Replays key sequences through ``MemoryTier`` (every entry of size 1, ``max_bytes`` =
capacity: get, and set on a miss) and, in the same run, through libCacheSim 0.3.5
(LRU, ARC, S3-FIFO, Sieve, W-TinyLFU; Belady's OPT as the ceiling, run on an
oracleGeneral conversion of the trace so it knows next-access times).

Traces
  nav       the 8 navigation traces (nav-abb-*) concatenated in file order, one key per
            event path, keys prefixed by project (F* = Freemind, J* = JPasswordSafe);
            consecutive repeats of one path are collapsed (file switches only)
  nav-raw   the same, with consecutive repeats kept (every event)
  git       git-flask then git-requests, one key per edited path, prefixed by project
  zipf-0.8, zipf-1.0    synthetic, 10k keys, 200k requests, seed 42
  scan-loop a Zipf(1.0) hot set of 2,000 keys; every 2,000 hot requests a one-time
            scan of 1,000 new keys (200k requests in all)
  zipf-1.2*, shift*   held out (not used to tune the policy's constants): Zipf(1.2), and
            Zipf(0.9) over 10k keys whose popularity order is reshuffled every 40k requests

Runs are reproducible: the synthetic traces are seeded, and nothing in the policy depends
on Python's per-process string hashing (its frequency counts are exact, in a dict, and
every order it keeps is an insertion order).

Cache sizes: 1%, 5% and 20% of each trace's distinct keys (at least 1 object).
libCacheSim's S3-FIFO and W-TinyLFU misbehave below ~100 objects (abort, or report
100% misses), so they are shown as "n/a" there; LRU, ARC, Sieve and Belady run at
every size (checked against a Python LRU).

    .venv/bin/python bench/hit_ratio.py [--traces DIR] [--sizes 0.01,0.05,0.2]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from smartcache_ls.cache.memory import MemoryTier  # noqa: E402

DEFAULT_TRACES = REPO.parent / "shared" / "traces"
LCS_MIN_OBJECTS = 100
COMPETITORS = ("LRU", "ARC", "S3FIFO", "WTinyLFU")
LCS_POLICIES = ("LRU", "ARC", "S3FIFO", "Sieve", "WTinyLFU")
SMALL_OK = {"LRU", "ARC", "Sieve", "Belady"}


# traces ----------------------------------------------------------------------------------
def read_paths(path: Path) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("type") == "header":
                continue
            out.append(str(rec["path"]))
    return out


def collapse(keys: list[str]) -> list[str]:
    return [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]


def zipf(n_keys: int, n_req: int, alpha: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    cum = list(itertools.accumulate(1.0 / (i + 1) ** alpha for i in range(n_keys)))
    return [f"z{k}" for k in rng.choices(range(n_keys), cum_weights=cum, k=n_req)]


def scan_loop(seed: int = 42) -> list[str]:
    rng = random.Random(seed)
    hot = 2000
    cum = list(itertools.accumulate(1.0 / (i + 1) for i in range(hot)))
    out: list[str] = []
    scan_id = 0
    while len(out) < 200_000:
        out.extend(f"h{k}" for k in rng.choices(range(hot), cum_weights=cum, k=2000))
        out.extend(f"s{scan_id + i}" for i in range(1000))
        scan_id += 1000
    return out[:200_000]


def shifting(seed: int = 7) -> list[str]:
    """Zipf(0.9) over 10k keys whose popularity order is reshuffled every 40k requests."""
    rng = random.Random(seed)
    n = 10_000
    cum = list(itertools.accumulate(1.0 / (i + 1) ** 0.9 for i in range(n)))
    out: list[str] = []
    for _ in range(5):
        order = list(range(n))
        rng.shuffle(order)
        out.extend(f"s{order[r]}" for r in rng.choices(range(n), cum_weights=cum, k=40_000))
    return out


def load_traces(trace_dir: Path) -> dict[str, list[str]]:
    traces: dict[str, list[str]] = {}
    nav_files = sorted(trace_dir.glob("nav-*.jsonl"))
    if nav_files:
        nav: list[str] = []
        for f in nav_files:
            project = f.stem.rsplit("-", 1)[-1][:1]  # F or J
            nav.extend(f"{project}:{p}" for p in read_paths(f))
        traces["nav"] = collapse(nav)
        traces["nav-raw"] = nav
    git_files = sorted(trace_dir.glob("git-*.jsonl"))
    if git_files:
        git: list[str] = []
        for f in git_files:
            project = f.stem.split("-", 1)[-1]
            git.extend(f"{project}:{p}" for p in read_paths(f))
        traces["git"] = git
    traces["zipf-0.8"] = zipf(10_000, 200_000, 0.8, 42)
    traces["zipf-1.0"] = zipf(10_000, 200_000, 1.0, 42)
    traces["scan-loop"] = scan_loop(42)
    # held out: not used when tuning the policy's constants
    traces["zipf-1.2*"] = zipf(10_000, 200_000, 1.2, 7)
    traces["shift*"] = shifting(7)
    return traces


# policies ---------------------------------------------------------------------------------
def ours(keys: list[str], capacity: int) -> float:
    m = MemoryTier(capacity)
    get, put = m.get, m.set
    hits = 0
    for k in keys:
        if get(k) is None:
            put(k, 1, 1)
        else:
            hits += 1
    return hits / len(keys)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """libCacheSim logs INFO lines on fd 2; keep the table readable."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class LcsTrace:
    """A key sequence as libCacheSim plain-text and oracleGeneral files."""

    def __init__(self, keys: list[str], workdir: Path, name: str) -> None:
        import libcachesim as lcs

        self.lcs = lcs
        ids: dict[str, int] = {}
        self.txt = workdir / f"{name}.txt"
        self.txt.write_text("".join(f"{ids.setdefault(k, len(ids) + 1)}\n" for k in keys))
        self.oracle = workdir / f"{name}.oracleGeneral"
        with quiet_stderr():
            reader = lcs.TraceReader(str(self.txt), lcs.TraceType.PLAIN_TXT_TRACE)
            lcs.Util.convert_to_oracleGeneral(reader._reader, str(self.oracle))

    def hit_ratio(self, policy: str, capacity: int) -> float | None:
        lcs = self.lcs
        if capacity < LCS_MIN_OBJECTS and policy not in SMALL_OK:
            return None
        with quiet_stderr():
            if policy == "Belady":
                reader = lcs.TraceReader(str(self.oracle), lcs.TraceType.ORACLE_GENERAL_TRACE)
            else:
                reader = lcs.TraceReader(str(self.txt), lcs.TraceType.PLAIN_TXT_TRACE)
            cache = getattr(lcs, policy)(capacity)
            miss_ratio = cache.process_trace(reader)[0]
        return 1.0 - float(miss_ratio)


# report -------------------------------------------------------------------------------------
def fmt(x: float | None) -> str:
    return "   n/a" if x is None else f"{100 * x:6.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=Path, default=DEFAULT_TRACES, help="directory of *.jsonl traces")
    ap.add_argument("--sizes", default="0.01,0.05,0.2", help="cache sizes as fractions of distinct keys")
    ap.add_argument("--only", default="", help="comma-separated trace names to run")
    args = ap.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    if not args.traces.is_dir():
        print(f"note: no trace directory {args.traces}; synthetic traces only", file=sys.stderr)
    traces = load_traces(args.traces) if args.traces.is_dir() else load_traces(Path("/nonexistent"))
    if args.only:
        wanted = set(args.only.split(","))
        traces = {k: v for k, v in traces.items() if k in wanted}

    cols = ("ours", *LCS_POLICIES, "Belady")
    header = f"{'trace':10} {'size':>5} {'objs':>6} " + " ".join(f"{c:>8}" for c in cols)
    header += f" {'best4':>7} {'ours-best4':>10}  verdict"
    print(f"hit ratio % (requests that hit); traces from {args.traces}")
    print(header)
    print("-" * len(header))
    tally: dict[bool, list[int]] = {False: [0, 0, 0], True: [0, 0, 0]}  # held out -> ok, win, rows
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hitratio-") as tmp:
        for name, keys in traces.items():
            distinct = len(set(keys))
            lt = LcsTrace(keys, Path(tmp), name)
            for frac in sizes:
                cap = max(1, round(distinct * frac))
                res: dict[str, float | None] = {"ours": ours(keys, cap)}
                for pol in (*LCS_POLICIES, "Belady"):
                    res[pol] = lt.hit_ratio(pol, cap)
                others = [res[p] for p in COMPETITORS if res[p] is not None]
                best = max(v for v in others if v is not None)
                mine = res["ours"]
                assert mine is not None
                delta = 100 * (mine - best)
                ok = delta >= -0.5
                win = all(mine > v for v in others if v is not None)
                t = tally[name.endswith("*")]
                t[0] += ok
                t[1] += win
                t[2] += 1
                verdict = "above all" if win else ("within 0.5" if ok else "BELOW")
                line = f"{name:10} {100 * frac:4.0f}% {cap:6d} " + " ".join(f"{fmt(res[c]):>8}" for c in cols)
                line += f" {fmt(best):>7} {delta:+10.2f}  {verdict}"
                print(line, flush=True)
            ceiling = 1 - distinct / len(keys)
            print(
                f"{'':10} ({len(keys)} requests, {distinct} distinct keys, "
                f"compulsory-miss ceiling {100 * ceiling:.2f}%)"
            )
    print("-" * len(header))
    print(
        f"best4 = best of LRU/ARC/S3FIFO/WTinyLFU that ran; n/a = libCacheSim cannot run that size "
        f"(< {LCS_MIN_OBJECTS} objects)."
    )
    for held_out, label in ((False, "traces the policy was tuned on"), (True, "held-out traces (*)")):
        ok_n, win_n, n = tally[held_out]
        if n:
            print(
                f"{label}: ours >= best4 - 0.5 points on {ok_n}/{n} rows; "
                f"above all four on {win_n}/{n} rows"
            )
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


Runner = Callable[[list[str], int], float]

if __name__ == "__main__":
    raise SystemExit(main())
