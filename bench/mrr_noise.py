"""How far an MRR ratio measured on a few hundred switches can be trusted.

Replays the traces through the server's Predictor and the recency baseline exactly as
``smartcache-ls evaluate`` does (same ``replay``, MRR over the top 5 as
``bench/replay_real.py`` counts it), then for each trace set prints:

* the model's MRR and top-3 over recency's, and the swaps behind them: switches where the
  model ranks the next file higher than recency does, and lower;
* a bootstrap 95% interval of the MRR ratio (switches resampled with replacement, the
  model's and recency's reciprocal ranks kept paired), and its standard deviation.

A change to the ranking whose effect is inside the interval is not shown by these traces
to be better or worse.

``--sweep-prior 0,0.5,1,2,4`` replays the real and the nav-abb trace sets (or the traces
given) once per value of the transition prior (the pseudo-counts of ``TRANSITION_PRIOR``, given
to each Predictor) and prints, per set and value, the same ratios and interval, and the paired
difference of the MRR ratio from the default prior's: both rankings on the same resampled
switches, with its own 95% interval, and the switches where that prior ranks the next file
higher and lower than the default does. ``--scope trace`` (the default) starts every trace from a fresh model,
as the real-server replay does (a fresh cache dir per trace); ``--scope project`` keeps one
model per project across its traces, as a workspace's stored model does between sessions.

    .venv/bin/python bench/mrr_noise.py [--scope trace|project] [--resamples 2000]
        [--sweep-prior 0,0.5,1,2,4] [TRACE...]
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
from smartcache_ls.predict.model import TRANSITION_PRIOR, Predictor
from smartcache_ls.predict.traces import read_trace

ROOT = Path(__file__).resolve().parent.parent
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()), ROOT)
DEPTH = 5  # as bench/replay_real.py asks smartcache/predict for (k=5)

Pair = tuple[float, float, int, int]  # model RR, recency RR, model in top 3, recency in top 3
Samples = list[list[int]]  # one bootstrap resample of the switches per list, as indices


def _rank(ranked: list[tuple[str, float]], path: str) -> int:
    paths = [p for p, _ in ranked[:DEPTH]]
    return paths.index(path) + 1 if path in paths else 0


def pairs_of(traces: list[Path], workspaces: Path, scope: str, prior: float = TRANSITION_PRIOR) -> list[Pair]:
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
            predictor = Predictor(structure=structure, transition_prior=prior)
            rankers[key] = (ModelRanker(predictor), RecencyBaseline())
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


def resample(n: int, count: int, rng: random.Random) -> Samples:
    return [[rng.randrange(n) for _ in range(n)] for _ in range(count)]


def spread(boots: list[float]) -> tuple[float, float, float]:
    """The 95% interval and the standard deviation of bootstrap values."""
    boots = sorted(boots)
    mean = sum(boots) / len(boots)
    sd = (sum((b - mean) ** 2 for b in boots) / len(boots)) ** 0.5
    return boots[int(0.025 * len(boots))], boots[int(0.975 * len(boots)) - 1], sd


def report(name: str, pairs: list[Pair], samples: Samples) -> str:
    n = len(pairs)
    top3 = sum(p[2] for p in pairs) / (sum(p[3] for p in pairs) or 1)
    better = sum(1 for p in pairs if p[0] > p[1])
    worse = sum(1 for p in pairs if p[0] < p[1])
    lo, hi, sd = spread([ratio([pairs[i] for i in idx]) for idx in samples])
    return (
        f"{name:<24} {n:8d} {ratio(pairs):8.3f} {top3:8.3f} {better:7d} {worse:6d}"
        f"   {lo:6.3f} .. {hi:6.3f} {sd:7.3f}"
    )


def sweep(name: str, runs: dict[float, list[Pair]], samples: Samples) -> list[str]:
    """One line per prior: ``report``'s, then the change of the MRR ratio from the default
    prior's, paired on the same resampled switches, and the switches it ranks better, worse."""
    base = runs[TRANSITION_PRIOR]
    rec = [p[1] for p in base]
    assert all([p[1] for p in pairs] == rec for pairs in runs.values()), "recency must not move"
    rec_sums = [sum(rec[i] for i in idx) or 1.0 for idx in samples]
    ref = [p[0] for p in base]
    ref_sums = [sum(ref[i] for i in idx) for idx in samples]
    lines = []
    for prior, pairs in runs.items():
        rr = [p[0] for p in pairs]
        diff = (sum(rr) - sum(ref)) / (sum(rec) or 1.0)
        boots = [
            (sum(rr[i] for i in idx) - r) / t for idx, r, t in zip(samples, ref_sums, rec_sums, strict=True)
        ]
        lo, hi, _ = spread(boots)
        better = sum(1 for a, b in zip(rr, ref, strict=True) if a > b)
        worse = sum(1 for a, b in zip(rr, ref, strict=True) if a < b)
        lines.append(
            f"{report(f'{name} prior={prior:g}', pairs, samples)}"
            f"   {diff:+7.3f}  {lo:+6.3f} .. {hi:+6.3f} {better:6d} {worse:6d}"
        )
    return lines


def trace_sets(traces: list[Path], by_project: bool) -> dict[str, list[Path]]:
    """The traces given (by project, or as one set), else the real traces (by project, or as
    one set; the sweep adds the nav-abb set)."""
    if not traces:
        real = sorted((SHARED / "traces" / "real").glob("nav-real-*.jsonl"))
        if not by_project:
            return {"real": real, "nav-abb": sorted((SHARED / "traces").glob("nav-abb-*.jsonl"))}
        traces = real
    if not by_project:
        return {"traces": traces}
    groups: dict[str, list[Path]] = {}
    for trace in traces:
        header, _ = read_trace(trace)
        groups.setdefault(str(header.get("project") or trace.stem), []).append(trace)
    return groups


def priors(text: str) -> list[float]:
    values = [float(v) for v in text.split(",") if v.strip()]
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("a prior is a count of pseudo-observations, not negative")
    return sorted(set(values) | {TRANSITION_PRIOR})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", nargs="*", type=Path)
    parser.add_argument("--workspaces", type=Path, default=SHARED / "workspaces")
    parser.add_argument("--scope", choices=["trace", "project"], default="trace")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep-prior", type=priors, metavar="P,P,...", help="transition priors to compare")
    args = parser.parse_args(argv)
    groups = trace_sets(args.traces, by_project=args.sweep_prior is None)
    rng = random.Random(args.seed)
    print(f"scope={args.scope}; MRR over the top {DEPTH}; {args.resamples} resamples of the switches")
    head = f"{'traces':<24} {'switches':>8} {'MRR x':>8} {'top3 x':>8} {'better':>7} {'worse':>6}"
    if args.sweep_prior is not None:
        print(
            f"{head}   95% interval      sd   vs prior={TRANSITION_PRIOR:g}: MRR x diff, 95% interval,"
            " better, worse"
        )
        for name, members in groups.items():
            runs = {p: pairs_of(members, args.workspaces, args.scope, p) for p in args.sweep_prior}
            samples = resample(len(runs[TRANSITION_PRIOR]), args.resamples, rng)
            print("\n".join(sweep(name, runs, samples)))
        return 0
    print(f"{head}   95% interval      sd")
    every: list[Pair] = []
    for name, members in groups.items():
        pairs = pairs_of(members, args.workspaces, args.scope)
        every.extend(pairs)
        print(report(name, pairs, resample(len(pairs), args.resamples, rng)))
    if len(groups) > 1:
        print(report("TOTAL", every, resample(len(every), args.resamples, rng)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
