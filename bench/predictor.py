"""Predictor speed: observe + predict(top-k) latency at ~50,000 known transitions.

    .venv/bin/python bench/predictor.py [--transitions 50000] [--steps 20000] [--k 5]

A synthetic workspace (directories of files, each file with a few habitual
successors, returns to recent files and random jumps) is walked until the
model knows the requested number of first-order transitions; then every step
times one ``observe`` and one ``predict(k)`` without reasons, as the server does
on each focus change before it queues the prefetch, and a quarter as many steps
time ``predict(k)`` with reasons, as ``smartcache/predict`` answers. The heap is
frozen after the warm-up, as the server does after loading a model. The
first-order Markov baseline runs the same walk in the same run for comparison.
Prints p50/p99/max in microseconds and the model's size.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartcache_ls.heap import freeze_long_lived
from smartcache_ls.predict.baselines import MarkovBaseline
from smartcache_ls.predict.model import Predictor

SESSION_STEPS = 500  # a new session (an hour's gap) every this many accesses


def advance(t: float, step: int) -> float:
    """The clock after access number ``step``: 5 s on, or an hour at every session boundary."""
    return t + (3600.0 if step % SESSION_STEPS == 0 else 5.0)


class Walk:
    """A reproducible developer-like walk over a synthetic workspace."""

    def __init__(self, files: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        dirs = max(1, files // 40)
        self.files = [f"pkg{i % dirs}/mod_{i}.py" for i in range(files)]
        self.succ = {
            f: [self.rng.randrange(files) for _ in range(self.rng.randint(3, 24))] for f in self.files
        }
        self.recent: list[str] = []
        self.current = self.files[0]

    def step(self) -> str:
        r = self.rng.random()
        if r < 0.35 and len(self.recent) > 2:
            nxt = self.recent[-1 - min(int(self.rng.expovariate(0.7)) + 1, len(self.recent) - 1)]
        elif r < 0.85:
            options = self.succ[self.current]
            nxt = self.files[options[min(int(self.rng.expovariate(0.15)), len(options) - 1)]]
        else:
            nxt = self.files[self.rng.randrange(len(self.files))]
        self.recent.append(nxt)
        del self.recent[:-20]
        self.current = nxt
        return nxt


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--transitions", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--files", type=int, default=6_000)
    args = parser.parse_args(argv)

    walk = Walk(args.files)
    model = Predictor()
    markov = MarkovBaseline()
    t = 0.0
    started = time.perf_counter()
    steps_done = 0
    while model.stats()["firstOrder"] < args.transitions:
        for _ in range(1000):
            path = walk.step()
            steps_done += 1
            t = advance(t, steps_done)
            model.observe(path, t)
            model.predict(args.k)
            markov.observe(path, t)
    warm = time.perf_counter() - started
    stats = model.stats()
    print(
        f"warm-up: {stats['firstOrder']} first-order + {stats['transitions'] - stats['firstOrder']} "
        f"second-order transitions, {stats['files']} files, {steps_done} accesses, {warm:.1f}s"
    )

    # The server freezes its long-lived heap after loading a model and after each periodic save.
    freeze_long_lived()
    steps = [walk.step() for _ in range(args.steps)]
    ours: list[float] = []
    explained: list[float] = []
    base: list[float] = []
    clock = time.perf_counter_ns
    for n, path in enumerate(steps, 1):
        t = advance(t, n)
        t0 = clock()
        model.observe(path, t)
        model.predict(args.k, explain=False)  # the server's event path: rank, then prefetch
        t1 = clock()
        markov.observe(path, t)
        markov.rank(args.k, path)
        t2 = clock()
        ours.append((t1 - t0) / 1000)
        base.append((t2 - t1) / 1000)
    for n, path in enumerate(steps[: args.steps // 4], 1):  # smartcache/predict also names reasons
        t = advance(t, n)
        t0 = clock()
        model.observe(path, t)
        model.predict(args.k)
        explained.append((clock() - t0) / 1000)

    size = len(json.dumps(model.to_json(), separators=(",", ":")))
    print(f"observe + predict(k={args.k}) over {args.steps} steps, microseconds:")
    print(f"  {'':<22} {'p50':>8} {'p99':>8} {'max':>9} {'mean':>8}")
    rows = (
        ("model, event path", ours),
        ("model, with reasons", explained),
        ("first-order Markov", base),
    )
    for name, xs in rows:
        print(
            f"  {name:<22} {percentile(xs, 0.5):8.1f} {percentile(xs, 0.99):8.1f} "
            f"{max(xs):9.1f} {statistics.fmean(xs):8.1f}"
        )
    print(
        f"  ratio model/markov: p50 {percentile(ours, 0.5) / percentile(base, 0.5):.1f}x, "
        f"p99 {percentile(ours, 0.99) / percentile(base, 0.99):.1f}x"
    )
    print(f"model JSON: {size / 1e6:.2f} MB (max_bytes {model.max_bytes / 1e6:.0f} MB)")
    target = 200.0
    p99 = percentile(ours, 0.99)
    verdict = "met" if p99 < target else "NOT met"
    print(f"target p99 < {target:.0f} us on the event path: {verdict} ({p99:.1f} us)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
