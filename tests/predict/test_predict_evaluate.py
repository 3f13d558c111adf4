"""The evaluation harness, end to end on small generated traces."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from smartcache_ls.predict.evaluate import evaluate, main
from smartcache_ls.predict.traces import TraceEvent, write_trace

PREDICTORS = {"model", "recency", "frequency", "markov", "cochange"}


def nav_trace(path: Path, seed: int, project: str = "demo") -> Path:
    rng = random.Random(seed)
    files = [f"T{i}.java" for i in range(12)]
    events, t, cur = [], 0.0, files[0]
    for _ in range(150):
        r = rng.random()
        cur = files[(files.index(cur) + 1) % 12] if r < 0.6 else rng.choice(files[:5])
        events.append(TraceEvent(t, f"s{seed}", "open", cur))
        if rng.random() < 0.2:
            events.append(TraceEvent(t + 1, f"s{seed}", "edit", cur))
        t += 10
    write_trace(path, {"name": path.stem, "kind": "navigation", "project": project}, events)
    return path


def commits_trace(path: Path) -> Path:
    groups = [["src/a.py", "tests/test_a.py"], ["src/b.py", "src/c.py", "docs/b.rst"]]
    events = []
    for n in range(60):
        for f in groups[n % 2]:
            events.append(TraceEvent(float(n), f"c{n}", "edit", f))
    write_trace(path, {"name": path.stem, "kind": "commits"}, events)
    return path


def test_main_json_has_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = nav_trace(tmp_path / "nav-a.jsonl", 1)
    b = nav_trace(tmp_path / "nav-b.jsonl", 2)
    c = commits_trace(tmp_path / "git-x.jsonl")
    assert main([str(a), str(b), str(c), "--json", "--k", "1,3,5", "--cache-size", "5,20,0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["k"] == [1, 3, 5]
    assert report["settings"]["cacheSizes"] == [5, 20, None]
    names = [t["name"] for t in report["traces"]]
    assert names == ["nav-a", "nav-b", "git-x"]
    for entry in [*report["traces"], *report["totals"].values()]:
        assert set(entry["predictors"]) == PREDICTORS
        for figures in entry["predictors"].values():
            assert {"top1", "top3", "top5", "mrr", "switches"} <= set(figures)
            assert 0.0 <= figures["top1"] <= figures["top3"] <= figures["top5"] <= 1.0
        assert set(entry["cache"]) == {"5", "20", "unbounded"}
        for cache in entry["cache"].values():
            for key in ("lru", "opt", "compulsory", "prefetch", "prefetchAccuracy", "coverage"):
                assert key in cache
            assert cache["lru"] <= cache["opt"] + 1e-9 <= cache["compulsory"] + 2e-9
        assert "bestBaselineTop3" in entry
    assert set(report["totals"]) == {"navigation", "commits", "all"}
    git = report["traces"][2]
    assert set(git["set5"]) == PREDICTORS
    # the commits alternate between two fixed groups: association rules and the model learn them
    assert git["set5"]["cochange"] > 0.9
    assert git["predictors"]["model"]["top1"] > 0.9
    assert git["predictors"]["recency"]["top3"] == 0.0  # nothing repeats inside a commit
    assert git["cache"]["unbounded"]["compulsory"] == pytest.approx(1 - 5 / git["accesses"])


def test_project_scope_carries_learning_across_traces(tmp_path: Path) -> None:
    a = nav_trace(tmp_path / "one.jsonl", 3)
    b = nav_trace(tmp_path / "two.jsonl", 3)  # the same walk again, as a new session
    shared = evaluate([a, b], scope="project")["traces"][1]["predictors"]["model"]
    alone = evaluate([a, b], scope="trace")["traces"][1]["predictors"]["model"]
    assert shared["firstTop3"] > alone["firstTop3"]
    assert alone["firstTop3"] == 0.0  # a fresh model cannot name a file it has never seen


def test_table_output_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = nav_trace(tmp_path / "nav-a.jsonl", 4)
    assert main([str(a)]) == 0
    out = capsys.readouterr().out
    assert "TOTAL navigation" in out and "recency" in out and "+prefetch" in out
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{nope\n", encoding="utf-8")
    assert main([str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
