"""Headroom of next-file prediction on navigation traces: where the targets are.

Replays the traces through the server's Predictor and the recency baseline exactly as
``smartcache-ls evaluate`` does (same ``replay``, same workspaces per ``--scope``) and
puts every file switch in one class:

  a  in the recency list's top 3
  b  visited earlier in this session, but not in recency's top 3
  c  first visit in this session, seen in an earlier session of the workspace
  d  never seen in the workspace before (no history-based predictor can name it;
     only workspace structure could, and the traces carry file names only)

For each class it prints its share and how many the model has in its top 3, and the
ceiling of any predictor that ranks only files it has seen: a perfect one gets all of
a + b (+ c in project scope), never d. Grouped by the header's ``project``.

    .venv/bin/python bench/headroom.py [--scope project|trace] TRACE...
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartcache_ls.predict.baselines import ModelRanker, RecencyBaseline
from smartcache_ls.predict.evaluate import replay, workspace_key
from smartcache_ls.predict.traces import read_trace

CLASSES = "abcd"


def classify(paths: list[Path], scope: str) -> dict[str, Counter[str]]:
    """Per project: switches per class, and the model's and recency's top-3 hits per class."""
    tables: dict[str, Counter[str]] = {}
    workspaces: dict[str, tuple[list[ModelRanker | RecencyBaseline], set[str]]] = {}
    for path in paths:
        header, events = read_trace(path)
        project = workspace_key(header, path, "project")
        ws = workspace_key(header, path, scope)
        if ws not in workspaces:
            workspaces[ws] = ([ModelRanker(), RecencyBaseline()], set())
        rankers, known = workspaces[ws]
        accesses, sessions, preds = replay(events, rankers, 3)
        table = tables.setdefault(project, Counter())
        seen: set[str] = set()
        for i, target in enumerate(accesses):
            if i == 0 or sessions[i] != sessions[i - 1]:
                seen = {target}
                known.add(target)
                continue
            recency3 = [p for p, _ in preds[RecencyBaseline.name][i - 1][:3]]
            model3 = [p for p, _ in preds[ModelRanker.name][i - 1][:3]]
            if target in recency3:
                cls = "a"
            elif target in seen:
                cls = "b"
            elif target in known:
                cls = "c"
            else:
                cls = "d"
            table["n"] += 1
            table[cls] += 1
            table[cls + "Model"] += target in model3
            seen.add(target)
            known.add(target)
    total: Counter[str] = Counter()
    for table in tables.values():
        total.update(table)
    tables["ALL"] = total
    return tables


def report(tables: dict[str, Counter[str]], scope: str) -> str:
    lines = [f"scope={scope}  (top-3 hits; ratios are over the recency baseline's top 3)"]
    for project, t in tables.items():
        # Class a is by definition recency's top-3 hits; every switch is in exactly one class.
        n, recency, model = t["n"], t["a"], sum(t[cls + "Model"] for cls in CLASSES)
        rec = recency or 1
        lines.append(f"{project}: {n} switches, recency {recency}, model {model} ({model / rec:.3f}x)")
        for cls in CLASSES:
            lines.append(
                f"  {cls}  {t[cls]:4d}  {100 * t[cls] / max(n, 1):5.1f}%   model top 3: {t[cls + 'Model']}"
            )
        seen_ceiling = t["a"] + t["b"]
        lines.append(
            f"  ceiling, seen this session (a+b): {seen_ceiling} = {seen_ceiling / rec:.3f}x;"
            f" seen anywhere (a+b+c): {seen_ceiling + t['c']} = {(seen_ceiling + t['c']) / rec:.3f}x"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("traces", nargs="+", type=Path)
    parser.add_argument("--scope", choices=["project", "trace"], default="project")
    args = parser.parse_args(argv)
    print(report(classify(args.traces, args.scope), args.scope))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
