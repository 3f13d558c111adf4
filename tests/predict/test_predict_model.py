"""The Predictor: learning, sessions, persistence, bounds, reasons."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest

from smartcache_ls.predict.model import TRANSITION_PRIOR, F, ModelFormatError, Prediction, Predictor


def walk(model: Predictor, paths: list[str], t0: float = 1000.0, step: float = 5.0) -> float:
    t = t0
    for p in paths:
        model.observe(p, t)
        t += step
    return t


def test_learns_a_then_b() -> None:
    model = Predictor()
    walk(model, ["a.py", "b.py", "c.py", "a.py", "b.py", "c.py", "a.py"])
    ranked = model.predict(3)
    assert ranked[0].path == "b.py"
    assert all(isinstance(p, Prediction) for p in ranked)
    assert "a.py" not in [p.path for p in ranked]
    assert 0 < ranked[0].probability <= 1
    assert "followed a.py 2 times" in ranked[0].reason


def test_predict_for_an_explicit_current_file() -> None:
    model = Predictor()
    walk(model, ["x.py", "y.py", "x.py", "y.py", "z.py"])
    ranked = model.predict(2, current="x.py")
    assert ranked[0].path == "y.py"
    assert all(p.path != "x.py" for p in ranked)


def test_recency_fallback_for_unknown_context() -> None:
    model = Predictor()
    walk(model, ["a.py", "b.py", "c.py", "d.py"])
    ranked = model.predict(3)
    assert [p.path for p in ranked] == ["c.py", "b.py", "a.py"]
    assert ranked[0].reason.startswith("visited")


def test_k_limits_and_zero() -> None:
    model = Predictor()
    walk(model, [f"f{i}.py" for i in range(10)])
    assert len(model.predict(4)) == 4
    assert model.predict(0) == []
    assert Predictor().predict(3) == []


def test_session_gap_resets_recency_but_keeps_transitions() -> None:
    model = Predictor()
    t = walk(model, ["a.py", "b.py", "a.py", "b.py", "old.py"])
    model.observe("a.py", t + 3600)  # more than 30 minutes later: a new session
    ranked = model.predict(5)
    paths = [p.path for p in ranked]
    assert paths[0] == "b.py"  # learnt transition survives
    assert not any(p.reason.startswith("visited") for p in ranked if p.path == "old.py")


def test_start_session_clears_recency() -> None:
    model = Predictor()
    walk(model, ["a.py", "b.py", "c.py"])
    model.start_session()
    ranked = model.predict(3)
    assert not any(p.reason.startswith("visited") for p in ranked)


def test_roundtrip_preserves_predictions() -> None:
    model = Predictor()
    walk(model, ["a.py", "b.py", "a.py", "c.py", "a.py", "b.py", "a.py"])
    data = json.loads(json.dumps(model.to_json()))
    again = Predictor.from_json(data)
    assert [p.path for p in again.predict(2, current="a.py")] == [
        p.path for p in model.predict(2, current="a.py")
    ]
    assert again.stats()["transitions"] == model.stats()["transitions"]


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        "model",
        {"format": "smartcache-predictor"},
        {"format": "smartcache-predictor", "version": 999},
        {"format": "something-else", "version": 1},
    ],
)
def test_rejects_other_versions_and_garbage(bad: object) -> None:
    with pytest.raises(ModelFormatError):
        Predictor.from_json(bad)


def test_rejects_corrupt_body() -> None:
    data = Predictor().to_json()
    data["files"] = [["a.py", "x", None]]
    with pytest.raises(ModelFormatError):
        Predictor.from_json(data)
    data = Predictor().to_json()
    data.pop("files")
    with pytest.raises(ModelFormatError):
        Predictor.from_json(data)


@pytest.mark.parametrize("limit", [60_000, 400_000])
def test_stays_under_max_bytes(limit: int) -> None:
    model = Predictor(max_bytes=limit)
    t = 0.0
    for i in range(20_000):
        model.observe(f"pkg{i % 3}/module_{(i * 7919) % 100}.py", t)
        if i % 3 == 0:
            model.predict(3)
        t += 1.0 if i % 700 else 4000.0  # now and then a new session
    data = model.to_json()
    assert len(json.dumps(data)) <= limit  # default separators, the larger form
    assert model.stats()["bytes"] <= limit
    assert model.stats()["transitions"] > 100  # pruned, not emptied
    assert model.predict(3)
    again = Predictor.from_json(json.loads(json.dumps(data)), max_bytes=limit)
    assert again.stats()["transitions"] == model.stats()["transitions"]


def test_forget_and_rename() -> None:
    model = Predictor()
    walk(model, ["a.py", "b.py", "a.py", "b.py", "a.py"])
    model.rename("b.py", "bee.py")
    assert model.predict(1, current="a.py")[0].path == "bee.py"
    model.forget("bee.py")
    assert all(p.path != "bee.py" for p in model.predict(5, current="a.py"))


def test_cochange_reason() -> None:
    model = Predictor()
    model.load_cochange([["src/a.py", "src/b.py"]] * 3 + [["src/a.py", "docs/x.rst"]])
    model.observe("src/a.py", 10.0)
    ranked = model.predict(2)
    assert ranked[0].path == "src/b.py"
    assert "changed with src/a.py in 3 commits" in ranked[0].reason


def test_a_save_in_slices_is_whole_and_survives_changes_between_slices() -> None:
    """The engine saves a model one slice at a time, letting events change it in between:
    the document must still load, and name only files it lists."""
    files = [f"src/m{i}.py" for i in range(60)]
    model = Predictor()
    for n in range(600):
        model.observe(files[(n * 7) % 60], float(n))
    whole = model.to_json()
    steps = model.json_steps(rows=5)
    sliced: dict[str, Any] | None = None
    slices = 0
    while sliced is None:
        try:
            next(steps)
            slices += 1
            model.observe(f"src/new{slices}.py", 1000.0 + slices)  # a file born mid-save
            model.forget(files[slices % 60])  # and rows pruned mid-save
        except StopIteration as done:
            sliced = done.value
    assert slices > 3
    names = [f[0] for f in sliced["files"]]
    assert names == [f[0] for f in whole["files"]]  # the files as of the start
    for table in ("m1", "m2", "cooc"):
        assert all(max(entry[:-2]) < len(names) for entry in sliced[table])
        assert len(sliced[table]) <= len(whole[table])
    loaded = Predictor.from_json(json.loads(json.dumps(sliced)))
    assert loaded.predict(3, current=files[7])
    unchanged = Predictor.from_json(whole)
    assert json.dumps(unchanged.to_json()) == json.dumps(whole)


def test_forget_and_rename_keep_the_co_change_top_lists_exact() -> None:
    """forget/rename re-rank only the co-change rows they touch; the result must equal a
    full re-ranking of every row."""
    import random

    rng = random.Random(3)
    files = [f"src/f{i}.py" for i in range(40)]
    model = Predictor()
    model.load_cochange([rng.sample(files, rng.randint(2, 6)) for _ in range(300)])
    assert all(len(row) > 8 for row in model._git.values())  # rows longer than their top lists
    for step in range(30):
        live = sorted(model._git)
        if step % 3 == 0:
            model.forget(rng.choice(live))
        else:  # to a fresh name, or onto another file that has a row
            model.rename(rng.choice(live), rng.choice([f"src/moved{step}.py", rng.choice(live)]))
        kept = dict(model._git_top)
        model._refresh_git_top()
        assert kept == model._git_top


def test_a_transition_seen_once_is_evidence_not_certainty() -> None:
    """The first-order share is smoothed with TRANSITION_PRIOR pseudo-counts (or the
    constructor's transition_prior): a transition seen once (of once) weighs less than one seen
    three times of three, both less than certainty; with no prior both are certainty."""

    def share_of_c(visits: int, **kw: float) -> float:
        model = Predictor(**kw)
        walk(model, ["a.py", "c.py", "b.py"] * visits + ["a.py"])
        scored = model._score("a.py", "b.py")
        feats = dict(scored.feats[scored.paths.index("c.py")])
        return feats[F["m1"]]

    once, thrice = share_of_c(1), share_of_c(3)
    assert once == pytest.approx(1 / (1 + TRANSITION_PRIOR))
    assert thrice == pytest.approx(3 / (3 + TRANSITION_PRIOR))
    assert once < thrice < 1.0
    assert share_of_c(1, transition_prior=4.0) == pytest.approx(1 / (1 + 4.0))
    assert share_of_c(3, transition_prior=4.0) == pytest.approx(3 / (3 + 4.0))
    assert share_of_c(1, transition_prior=0.0) == share_of_c(3, transition_prior=0.0) == 1.0


def test_named_predictions_are_kept_per_ranking_and_named_anew_after_an_observation() -> None:
    paths = ["a.py", "b.py", "c.py", "a.py", "b.py", "a.py"]
    model = Predictor()
    t = walk(model, paths)
    first = model.predict(3)
    assert "followed a.py 2 times" in first[0].reason
    kept = model.predict(3)
    assert kept == first and kept is not first  # the same answer, a list of the caller's own
    kept.clear()
    assert model.predict(3) == first
    fresh = Predictor()
    walk(fresh, paths)
    assert fresh.predict(3) == first and fresh.predict(2) == model.predict(2)
    walk(model, ["b.py", "a.py"], t0=t)
    again = model.predict(3)
    assert "followed a.py 3 times" in again[0].reason
    walk(fresh, ["b.py", "a.py"], t0=t)
    assert fresh.predict(3) == again


def test_a_saved_document_leaves_the_collector_nothing_to_walk() -> None:
    # a save builds one row per file and transition (~50,000 in a full model); rows that stay
    # tracked by the cyclic collector are promoted into the generation every full collection
    # walks, a pause per save: the rows must be ones the collector lets go of (atomic tuples)
    model = Predictor()
    t = 0.0
    for i in range(6_000):
        model.observe(f"pkg{i % 7}/module_{(i * 7919) % 400}.py", t)
        t += 1.0
    gc.collect()
    before = len(gc.get_objects())
    data = model.to_json()
    gc.collect(0)  # the young generation once, as the collector runs on its own
    rows = len(data["files"]) + len(data["m1"]) + len(data["m2"]) + len(data["cooc"])
    assert rows > 5_000
    assert len(gc.get_objects()) - before < 100
    again = Predictor.from_json(json.loads(json.dumps(data)))
    assert again.stats()["transitions"] == model.stats()["transitions"]
