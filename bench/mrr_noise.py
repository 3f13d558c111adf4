"""How far an MRR ratio measured on a few hundred switches can be trusted.

Replays the traces through the server's Predictor and the recency baseline exactly as
``smartcache-ls evaluate`` does (same ``replay``, MRR over the top 5 as
``bench/replay_real.py`` counts it), then for each trace set prints:

* the model's MRR and top-3 over recency's, and the swaps behind them: switches where the
  model ranks the next file higher than recency does, and lower;
* a bootstrap 95% interval of the MRR ratio (switches resampled with replacement, the
  model's and recency's reciprocal ranks kept paired), and its standard deviation.

A change to the ranking whose effect is inside the interval is not shown by these traces
to be better or worse. ``--scope trace`` (the default) starts every trace from a fresh model,
as the real-server replay does (a fresh cache dir per trace); ``--scope project`` keeps one
model per project across its traces, as a workspace's stored model does between sessions.

    .venv/bin/python bench/mrr_noise.py [--scope trace|project] [--resamples 2000] [TRACE...]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartcache_ls.index.offline import GraphStructure, build_graph
from smartcache_ls.predict.baselines import ModelRanker, RecencyBaseline
from smartcache_ls.predict.evaluate import replay, workspace_key
from smartcache_ls.predict.model import Predictor
from smartcache_ls.predict.traces import read_trace

ROOT = Path(__file__).resolve().parent.parent
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()), ROOT)
DEPTH = 5  # as bench/replay_real.py asks smartcache/predict for (k=5)

Pair = tuple[float, float, int, int]  # model RR, recency RR, model in top 3, recency in top 3


def _rank(ranked: list[tuple[str, float]], path: str) -> int:
    paths = [p for p, _ in ranked[:DEPTH]]
    return paths.index(path) + 1 if path in paths else 0


def pairs_of(traces: list[Path], workspaces: Path, scope: str) -> list[Pair]:
    """One (model, recency) pair of reciprocal ranks and top-3 hits per switch."""
    structures: dict[Path, GraphStructure] = {}
    rankers: dict[str, tuple[ModelRanker, RecencyBaseline]] = {}
    out: list[Pair] = []
    for trace in traces:
        header, events = read_trace(trace)
        key = workspace_key(header, trace, scope)
        if key not in rankers:
            structure = None
            folder = workspaces / str(header.get("workspace", ""))
            if header.get("workspace") and folder.is_dir():
                if folder not in structures:
                    structures[folder] = GraphStructure(*build_graph(folder))
                structure = structures[folder]
            rankers[key] = (ModelRanker(Predictor(structure=structure)), RecencyBaseline())
        model, recency = rankers[key]
        accesses, sessions, preds = replay(events, [model, recency], DEPTH)
        for i in range(1, len(accesses)):
            if sessions[i] != sessions[i - 1]:
                continue
            rm = _rank(preds[model.name][i - 1], accesses[i])
            rr = _rank(preds[recency.name][i - 1], accesses[i])
            out.append((1.0 / rm if rm else 0.0, 1.0 / rr if rr else 0.0, 0 < rm <= 3, 0 < rr <= 3))
    return out


def ratio(pairs: list[Pair]) -> float:
    rec = sum(p[1] for p in pairs)
    return sum(p[0] for p in pairs) / rec if rec else 0.0


def report(name: str, pairs: list[Pair], resamples: int, rng: random.Random) -> str:
    n = len(pairs)
    top3 = sum(p[2] for p in pairs) / (sum(p[3] for p in pairs) or 1)
    better = sum(1 for p in pairs if p[0] > p[1])
    worse = sum(1 for p in pairs if p[0] < p[1])
    boots = sorted(ratio([rng.choice(pairs) for _ in range(n)]) for _ in range(resamples))
    mean = sum(boots) / len(boots)
    sd = (sum((b - mean) ** 2 for b in boots) / len(boots)) ** 0.5
    lo, hi = boots[int(0.025 * resamples)], boots[int(0.975 * resamples) - 1]
    return (
        f"{name:<24} {n:8d} {ratio(pairs):8.3f} {top3:8.3f} {better:7d} {worse:6d}"
        f"   {lo:6.3f} .. {hi:6.3f} {sd:7.3f}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="*", type=Path)
    parser.add_argument("--workspaces", type=Path, default=SHARED / "workspaces")
    parser.add_argument("--scope", choices=["trace", "project"], default="trace")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    traces = args.traces or sorted((SHARED / "traces" / "real").glob("nav-real-*.jsonl"))
    groups: dict[str, list[Path]] = {}
    for trace in traces:
        header, _ = read_trace(trace)
        groups.setdefault(str(header.get("project") or trace.stem), []).append(trace)
    rng = random.Random(args.seed)
    print(f"scope={args.scope}; MRR over the top {DEPTH}; {args.resamples} resamples of the switches")
    head = f"{'traces':<24} {'switches':>8} {'MRR x':>8} {'top3 x':>8} {'better':>7} {'worse':>6}"
    print(f"{head}   95% interval      sd")
    every: list[Pair] = []
    for name, members in groups.items():
        pairs = pairs_of(members, args.workspaces, args.scope)
        every.extend(pairs)
        print(report(name, pairs, args.resamples, rng))
    if len(groups) > 1:
        print(report("TOTAL", every, args.resamples, rng))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
