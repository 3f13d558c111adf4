"""``smartcache-ls evaluate TRACE...``: replay traces through the predictor offline.

Online evaluation: every prediction is made before the event it predicts is
seen, and every predictor learns as it goes. The model is the server's own
:class:`~smartcache_ls.predict.model.Predictor` (imported, not copied).

Workspaces: the model is workspace-scoped, so with ``--scope project`` (the
default) traces whose headers name the same ``project`` are replayed in the
order given through one model and one set of baselines, each trace a new
session (recency does not carry over, learnt transitions do). Traces without
a ``project`` are their own workspace. ``--scope trace`` starts every trace
from nothing. Cache simulations always start cold at each trace.

Next-file figures count file switches inside a session (consecutive repeats
collapsed); the first access of a session is not a switch. For commit traces
(one session per commit) "set@5" is the share of a commit's files after its
first that were in the top 5 when they were touched.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .baselines import BASELINES, ModelRanker, Ranker
from .model import Predictor
from .simulate import cache_report, derive_cache
from .traces import TraceEvent, TraceFormatError, read_trace

Predictions = list[list[tuple[str, float]]]
DEFAULT_KS = (1, 3, 5)
DEFAULT_SIZES: tuple[int | None, ...] = (5, 20, None)
MRR_DEPTH = 10
PREFETCH_THRESHOLD = 0.05  # the server's default prefetch.threshold


def make_rankers(model_factory: Callable[[], Predictor] = Predictor) -> list[Ranker]:
    rankers: list[Ranker] = [ModelRanker(model_factory())]
    rankers.extend(cls() for cls in BASELINES.values())
    return rankers


def workspace_key(header: dict[str, Any], path: Path, scope: str) -> str:
    """The workspace a trace is replayed in: with ``scope="project"`` its header's ``project``
    (else its ``name``, else the file's stem), otherwise the trace file itself."""
    if scope != "project":
        return str(path)
    return str(header.get("project") or header.get("name") or path.stem)


def replay(
    events: Sequence[TraceEvent], rankers: Sequence[Ranker], depth: int
) -> tuple[list[str], list[str], dict[str, Predictions]]:
    """Feed a trace to every ranker; return the collapsed accesses, their sessions, and
    for each ranker the ranking it gave after each access (made just before the next
    access was seen)."""
    accesses: list[str] = []
    sessions: list[str] = []
    preds: dict[str, Predictions] = {r.name: [] for r in rankers}
    current: str | None = None
    session: str | None = None
    for r in rankers:
        r.start_session()
    for ev in events:
        new_session = ev.session != session
        if new_session or ev.path != current:
            if current is not None:
                for r in rankers:
                    preds[r.name].append(r.rank(depth, current))
            if new_session and session is not None:
                for r in rankers:
                    r.start_session()
            session, current = ev.session, ev.path
            accesses.append(ev.path)
            sessions.append(ev.session)
        for r in rankers:
            r.observe(ev.path, ev.t, ev.event)
    if current is not None:
        for r in rankers:
            preds[r.name].append(r.rank(depth, current))
    return accesses, sessions, preds


def _empty_scores(ks: Sequence[int]) -> dict[str, float]:
    out: dict[str, float] = {f"top{k}": 0 for k in ks}
    out.update({"rr": 0.0, "n": 0, "firstHits3": 0, "firstN": 0})
    return out


def score(
    accesses: Sequence[str], sessions: Sequence[str], preds: Predictions, ks: Sequence[int]
) -> tuple[dict[str, float], dict[str, float]]:
    """Raw counts: top-k hits, reciprocal ranks, switches; and set@5 for sessions."""
    s = _empty_scores(ks)
    seen: set[str] = set()
    set_hits = set_n = 0
    for i, path in enumerate(accesses):
        if i == 0 or sessions[i] != sessions[i - 1]:
            seen = {path}
            continue
        ranked = [p for p, _ in preds[i - 1][:MRR_DEPTH]]
        rank = ranked.index(path) + 1 if path in ranked else 0
        s["n"] += 1
        for k in ks:
            if 0 < rank <= k:
                s[f"top{k}"] += 1
        if rank:
            s["rr"] += 1.0 / rank
        if path not in seen:
            s["firstN"] += 1
            if 0 < rank <= 3:
                s["firstHits3"] += 1
            set_n += 1
            if 0 < rank <= 5:
                set_hits += 1
        seen.add(path)
    return s, {"hits": set_hits, "n": set_n}


def rates(raw: dict[str, float], ks: Sequence[int]) -> dict[str, float]:
    n = raw["n"] or 1
    out = {f"top{k}": raw[f"top{k}"] / n for k in ks}
    out["mrr"] = raw["rr"] / n
    out["firstTop3"] = raw["firstHits3"] / (raw["firstN"] or 1)
    out["switches"] = raw["n"]
    return out


def evaluate(
    paths: Sequence[Path],
    *,
    ks: Sequence[int] = DEFAULT_KS,
    sizes: Sequence[int | None] = DEFAULT_SIZES,
    prefetch_k: int = 5,
    threshold: float = PREFETCH_THRESHOLD,
    scope: str = "project",
    model_factory: Callable[[], Predictor] = Predictor,
    folders: Sequence[Path] = (),
) -> dict[str, Any]:
    """Evaluate every trace; return per-trace figures and pooled totals (JSON-able).

    With ``folders``, a trace whose header names a ``workspace`` (else the only folder given)
    is replayed with the reference graph of that folder as the model's structure, built by
    the server's own analysis code.
    """
    depth = max(max(ks), MRR_DEPTH, prefetch_k)
    workspaces: dict[str, list[Ranker]] = {}
    traces: list[dict[str, Any]] = []
    structures: dict[Path, Any] = {}
    for path in paths:
        header, events = read_trace(path)
        name = str(header.get("name") or path.stem)
        kind = str(header.get("kind") or "navigation")
        ws = workspace_key(header, path, scope)
        folder = _folder_for(header, folders)
        if folder is not None:
            ws = f"{ws}@{folder}"
        if ws not in workspaces:
            factory = model_factory
            if folder is not None:
                if folder not in structures:
                    from ..index.offline import GraphStructure, build_graph

                    structures[folder] = GraphStructure(*build_graph(folder))
                factory = functools.partial(Predictor, structure=structures[folder])

            workspaces[ws] = make_rankers(factory)
        rankers = workspaces[ws]
        accesses, sessions, preds = replay(events, rankers, depth)
        raw: dict[str, dict[str, float]] = {}
        sets: dict[str, dict[str, float]] = {}
        for r in rankers:
            raw[r.name], sets[r.name] = score(accesses, sessions, preds[r.name], ks)
        model_preds = preds[ModelRanker.name]
        caches = {
            _size_key(size): cache_report(accesses, model_preds, size, prefetch_k, threshold)
            for size in sizes
        }
        traces.append(
            {
                "name": name,
                "kind": kind,
                "workspace": ws,
                "events": len(events),
                "accesses": len(accesses),
                "sessions": len(set(sessions)),
                "raw": raw,
                "rawSet": sets,
                "cache": caches,
            }
        )
    for t in traces:
        _finish(t, ks)
    totals: dict[str, Any] = {}
    kinds = sorted({t["kind"] for t in traces})
    groups = [(k, [t for t in traces if t["kind"] == k]) for k in kinds]
    if len(kinds) > 1:
        groups.append(("all", traces))
    for label, members in groups:
        totals[label] = _pool(members, ks, sizes)
    return {
        "settings": {
            "k": list(ks),
            "cacheSizes": list(sizes),
            "prefetchK": prefetch_k,
            "threshold": threshold,
            "scope": scope,
            "predictors": [r.name for r in make_rankers(model_factory)],
        },
        "traces": traces,
        "totals": totals,
    }


def _folder_for(header: dict[str, Any], folders: Sequence[Path]) -> Path | None:
    named = header.get("workspace")
    for folder in folders:
        if named and folder.name == named:
            return folder
    return folders[0] if len(folders) == 1 else None


def _size_key(size: int | None) -> str:
    return "unbounded" if size is None else str(size)


def _finish(entry: dict[str, Any], ks: Sequence[int]) -> None:
    """Turn raw counts into rates, next to them."""
    entry["predictors"] = {name: rates(raw, ks) for name, raw in entry["raw"].items()}
    n = next(iter(entry["raw"].values()))["n"] if entry["raw"] else 0
    first = next(iter(entry["raw"].values()))["firstN"] if entry["raw"] else 0
    entry["switches"] = n
    entry["firstVisitShare"] = first / n if n else 0.0
    if entry["kind"] == "commits":
        entry["set5"] = {name: (s["hits"] / s["n"] if s["n"] else 0.0) for name, s in entry["rawSet"].items()}
    baselines = {k: v for k, v in entry["predictors"].items() if k != ModelRanker.name}
    if baselines and ModelRanker.name in entry["predictors"]:
        best = max(baselines, key=lambda b: baselines[b].get("top3", 0.0))
        best3 = baselines[best].get("top3", 0.0)
        model3 = entry["predictors"][ModelRanker.name].get("top3", 0.0)
        entry["bestBaselineTop3"] = {
            "name": best,
            "top3": best3,
            "ratio": model3 / best3 if best3 else None,
        }


def _pool(members: list[dict[str, Any]], ks: Sequence[int], sizes: Sequence[int | None]) -> Any:
    raw: dict[str, dict[str, float]] = {}
    sets: dict[str, dict[str, float]] = {}
    for t in members:
        for name, counts in t["raw"].items():
            acc = raw.setdefault(name, _empty_scores(ks))
            for key, value in counts.items():
                acc[key] += value
        for name, counts in t["rawSet"].items():
            acc = sets.setdefault(name, {"hits": 0, "n": 0})
            for key, value in counts.items():
                acc[key] += value
    caches: dict[str, Any] = {}
    for size in sizes:
        key = _size_key(size)
        fields = ("accesses", "distinct", "lruHits", "optHits", "prefetchHits", "issued", "used")
        sums = {f: sum(t["cache"][key][f] for t in members) for f in fields}
        sums["wasted"] = sum(t["cache"][key]["wasted"] for t in members)
        caches[key] = {
            "size": size,
            **sums,
            **derive_cache(
                sums["accesses"],
                sums["distinct"],
                sums["lruHits"],
                sums["optHits"],
                sums["prefetchHits"],
                sums["issued"],
                sums["used"],
            ),
        }
    entry: dict[str, Any] = {
        "name": "TOTAL",
        "kind": members[0]["kind"] if len({m["kind"] for m in members}) == 1 else "all",
        "traces": [m["name"] for m in members],
        "events": sum(m["events"] for m in members),
        "accesses": sum(m["accesses"] for m in members),
        "raw": raw,
        "rawSet": sets,
        "cache": caches,
    }
    _finish(entry, ks)
    return entry


# formatting ---------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}"


def format_report(report: dict[str, Any]) -> str:
    ks = report["settings"]["k"]
    lines: list[str] = []
    entries = [*report["traces"], *(dict(v, name=f"TOTAL {k}") for k, v in report["totals"].items())]
    for t in entries:
        lines.append("")
        first = _pct(t["firstVisitShare"]).strip()
        lines.append(
            f"== {t['name']} ({t['kind']}; {t['events']} events, {t['switches']} switches, "
            f"{first}% first visits in session)"
        )
        head = "  predictor  " + " ".join(f"top{k:<2}" for k in ks) + "   MRR  first@3"
        if t["kind"] == "commits":
            head += "  set@5"
        lines.append(head)
        for name, r in t["predictors"].items():
            row = f"  {name:<10} " + " ".join(f"{_pct(r[f'top{k}'])}" for k in ks)
            row += f" {r['mrr']:5.3f}  {_pct(r['firstTop3'])}"
            if t["kind"] == "commits":
                row += f"  {_pct(t['set5'][name])}"
            lines.append(row)
        best = t.get("bestBaselineTop3")
        if best and best["ratio"] is not None:
            lines.append(f"  model top3 / best baseline ({best['name']}) top3 = {best['ratio']:.2f}x")
        lines.append("  cache  size        LRU    OPT  compul  +prefetch  pf-acc  coverage  issued")
        for key, c in t["cache"].items():
            lines.append(
                f"         {key:<10} {_pct(c['lru'])}  {_pct(c['opt'])}  {_pct(c['compulsory'])}"
                f"      {_pct(c['prefetch'])}   {_pct(c['prefetchAccuracy'])}    "
                f"{_pct(c['coverage'])}  {c['issued']:6d}"
            )
    settings = report["settings"]
    lines.append("")
    lines.append(
        f"(figures in %; scope={settings['scope']}, prefetch up to {settings['prefetchK']} per "
        f"access with probability >= {settings['threshold']})"
    )
    return "\n".join(lines).lstrip("\n")


def _ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {text!r}") from exc
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative integers: {text!r}")
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartcache-ls evaluate",
        description="Replay traces through the predictor and baselines, online; "
        "report next-file accuracy and a cache simulation with prefetch.",
    )
    parser.add_argument("traces", nargs="+", type=Path, help="JSON-lines trace files")
    parser.add_argument("--k", type=_ints, default=list(DEFAULT_KS), help="top-k list (1,3,5)")
    parser.add_argument(
        "--cache-size",
        type=_ints,
        default=None,
        help="cache sizes in files, comma-separated, 0 = unbounded (default 5,20,0)",
    )
    parser.add_argument("--prefetch-k", type=int, default=5, help="prefetches per access (5)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=PREFETCH_THRESHOLD,
        help="minimum predicted probability to prefetch (default: the server's 0.05)",
    )
    parser.add_argument("--scope", choices=["project", "trace"], default="project")
    parser.add_argument(
        "--workspace",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="source tree of the traces (repeatable; matched to a trace header's 'workspace' by "
        "folder name): the model sees its reference graph, built by the server's analysis code",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    sizes: list[int | None] = (
        [None if s == 0 else s for s in args.cache_size] if args.cache_size else list(DEFAULT_SIZES)
    )
    ks = [k for k in args.k if k > 0] or list(DEFAULT_KS)
    try:
        report = evaluate(
            args.traces,
            ks=ks,
            sizes=sizes,
            prefetch_k=max(0, args.prefetch_k),
            threshold=args.threshold,
            scope=args.scope,
            folders=args.workspace,
        )
    except (OSError, TraceFormatError) as exc:
        print(f"smartcache-ls evaluate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for t in [*report["traces"], *report["totals"].values()]:
            t.pop("raw", None)
            t.pop("rawSet", None)
        print(json.dumps(report, indent=2), file=sys.stdout)
    else:
        print(format_report(report), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
