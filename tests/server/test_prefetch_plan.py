"""The prefetch planner's decision: probabilities learnt per source, the budget, what is skipped."""

from __future__ import annotations

from smartcache_ls.prefetch_plan import HORIZON, PrefetchPlanner


def plan(planner: PrefetchPlanner, files: list[str], **kw: object) -> list[str]:
    args: dict[str, object] = {
        "warm": lambda rel: False,
        "cost": lambda rel: 1000,
        "max_files": 10,
        "max_bytes": 10**6,
        "threshold": 0.0,
    }
    args.update(kw)
    chosen = planner.plan([], [(0, "refs", files)], **args)  # type: ignore[arg-type]
    return [c.rel for c in chosen]


def test_visit_rates_are_learnt_per_source() -> None:
    planner = PrefetchPlanner()
    assert planner.rate("refs:0:0") == 0.5  # Beta(1, 1): nothing assumed
    for i in range(20):
        plan(planner, [f"top{i}", "a", "b", "c", f"far{i}"])
        planner.observe(f"top{i}")  # the heaviest reference is where the developer goes
    assert planner.rate("refs:0:0") > 0.3 > planner.rate("refs:0:1")
    # a visit long after the offer (past the horizon) is not credited to it
    planner2 = PrefetchPlanner()
    plan(planner2, ["x"])
    for i in range(HORIZON):
        planner2.observe(f"other{i}")
        plan(planner2, [])
    planner2.observe("x")
    assert planner2.rate("refs:0:0") == 1 / 3


def test_the_budget_and_what_is_skipped() -> None:
    planner = PrefetchPlanner()
    files = [f"f{i}" for i in range(8)]
    assert len(plan(planner, files, max_files=3)) == 3
    sizes = {f: 100 * (i + 1) for i, f in enumerate(files)}
    chosen = plan(planner, files, cost=sizes.get, max_bytes=1000)
    assert sum(sizes[f] for f in chosen) <= 1000
    assert chosen[0] == "f7"  # same probability: the costliest to compute first
    assert plan(planner, files, warm=lambda rel: rel != "f1") == ["f1"]
    assert plan(planner, files, cost=lambda rel: None) == []
    assert plan(planner, files, threshold=0.9) == []
    # a ranked file comes with the predictor's probability
    ranked = planner.plan(
        [("r", 0.99)], [], warm=lambda r: False, cost=lambda r: 1, max_files=1, max_bytes=10, threshold=0.5
    )
    assert [(c.rel, c.source) for c in ranked] == [("r", "ranked")]


def test_a_second_plan_for_the_same_switch_spends_what_is_left() -> None:
    planner = PrefetchPlanner()
    assert len(plan(planner, ["a", "b", "c"], max_files=4)) == 3
    assert plan(planner, ["d", "e", "f"], max_files=4, learn=False) == ["d"]
    assert len(plan(planner, ["d", "e", "f"], max_files=4)) == 3  # the next switch starts afresh
