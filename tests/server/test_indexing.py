"""Background indexing: the predictor learns only files the workspace index holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smartcache_ls.engine import MODEL_META, SYNC_MODEL_BYTES, Engine
from smartcache_ls.paths import path_to_uri
from smartcache_ls.predict.stand_in import StandIn
from smartcache_ls.settings import Settings

from ..e2e.test_hostile_git import git


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_cochange_and_name_index_hold_only_indexed_files(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitignore").write_text("gen/\n")
    for n, files in enumerate(
        [["a.py", "gone.py"], ["a.py", "b.py"], ["a.py", "gen/made.py"], ["a.py", "node_modules/m.js"]]
    ):
        for name in files:
            (root / name).parent.mkdir(exist_ok=True)
            (root / name).write_text(f"# {n}\n")
        git(root, "add", "-f", *files)
        git(root, "commit", "-q", "-m", f"c{n}")
    (root / "gone.py").unlink()

    engine = Engine(Settings(), tmp_path / "cache", watch=False)
    try:
        ws = engine.add_folder(path_to_uri(root))
        assert ws.progress.wait_ready(20)
        snap = ws.progress.snapshot()
        assert snap["commits"] == 4
        # each phase's end is reported, in order, the last one being when it was ready (no
        # watcher here: the scan lists the files)
        phases = snap["phaseSeconds"]
        assert list(phases) == ["pending", "scanning", "history"]
        assert list(phases.values()) == sorted(phases.values())
        assert phases["history"] == snap["readySeconds"]
        with ws.lock:
            assert sorted(ws.known_files) == [".gitignore", "a.py", "b.py"]
            stats = ws.predictor.stats()
        assert stats["cochangeFiles"] == 2  # a.py and b.py: nothing deleted, ignored or unindexed
        engine.did_focus(path_to_uri(root / "a.py"))
        ranked = [p.uri for p in engine.predict(path_to_uri(root / "a.py"), 10)]
        assert path_to_uri(root / "b.py") in ranked
        for absent in ("gone.py", "gen/made.py", "node_modules/m.js"):
            assert path_to_uri(root / absent) not in ranked
    finally:
        engine.close()


def test_a_large_stored_model_loads_in_the_background_and_keeps_early_events(tmp_path: Path) -> None:
    """A stored model above SYNC_MODEL_BYTES is not read by add_folder (the initialize handler):
    a stand-in serves until the indexing thread loads it, and what the editor did meanwhile is
    learnt by the loaded model too."""
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    names = [f"src/m{i}.py" for i in range(6000)]
    for rel in [*names[:10], "early_a.py", "early_b.py"]:
        (root / rel).write_text("x = 1\n")
    cache = tmp_path / "cache"
    first = Engine(Settings(), cache, watch=False)
    ws = first.add_folder(path_to_uri(root))
    with ws.lock:
        for i, rel in enumerate(names):  # a long walk: a model of several hundred KB
            ws.predictor.observe(rel, 1000.0 + i)
        ws.dirty = True
    first.close()
    second = Engine(Settings(), cache, watch=False)
    try:
        size = second.sqlite.meta_size(MODEL_META.format(namespace=ws.namespace))
        assert size is not None and size > SYNC_MODEL_BYTES
        ws = second.add_folder(path_to_uri(root))
        a, b = path_to_uri(root / "early_a.py"), path_to_uri(root / "early_b.py")
        for _ in range(3):  # at once: before the stored model is in, most likely
            second.did_focus(a)
            second.did_focus(b)
        assert ws.progress.wait_ready(30)
        assert "model" in ws.progress.seconds  # it went through the background load
        assert not isinstance(ws.predictor, StandIn)
        with ws.lock:
            assert ws.predictor.stats()["files"] >= 6000  # the stored model
        assert [p.uri for p in second.predict(a, 1)] == [b]  # learnt while it loaded
    finally:
        second.close()
