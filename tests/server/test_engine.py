"""The engine without LSP: workspaces, loading, invalidation, persistence."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartcache_ls.cache.record import Record
from smartcache_ls.engine import DB_NAME, MODEL_META, Engine
from smartcache_ls.paths import PathRefused, path_to_uri
from smartcache_ls.protocol import decoded
from smartcache_ls.settings import Settings

from ..conftest import make_workspace


def analysis(engine: Engine, uri: str) -> Any:
    """getAnalysis as the client gets it, decoded."""
    return decoded(engine.get_analysis(uri))


def file(engine: Engine, uri: str) -> Any:
    """getFile as the client gets it, decoded."""
    return decoded(engine.get_file(uri))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine(Settings(), tmp_path / "cache", watch=False)
    yield eng
    eng.close()


def test_two_workspaces_never_see_each_others_entries(engine: Engine, tmp_path: Path) -> None:
    one = make_workspace(tmp_path / "one")
    two = make_workspace(tmp_path / "two")
    (two / "util.py").write_text("def other():\n    pass\n")
    engine.add_folder(path_to_uri(one))
    engine.add_folder(path_to_uri(two))
    first = file(engine, path_to_uri(one / "util.py"))
    second = file(engine, path_to_uri(two / "util.py"))
    assert first["text"] != second["text"] and first["source"] == second["source"] == "disk"
    assert file(engine, path_to_uri(two / "util.py"))["text"] == second["text"]
    engine.did_open(path_to_uri(one / "app.py"), (one / "app.py").read_text(), 1)
    engine.did_open(path_to_uri(one / "util.py"), (one / "util.py").read_text(), 1)
    ws_two = engine.workspace_for(path_to_uri(two / "app.py"))[0]
    assert ws_two.predictor.stats()["transitions"] == 0


def test_nested_folder_wins_and_outside_is_refused(engine: Engine, tmp_path: Path) -> None:
    outer = make_workspace(tmp_path / "outer")
    inner = make_workspace(outer / "pkg" / "inner")
    engine.add_folder(path_to_uri(outer))
    engine.add_folder(path_to_uri(inner))
    ws, _, rel = engine.workspace_for(path_to_uri(inner / "util.py"))
    assert ws.root == inner and rel == "util.py"
    with pytest.raises(PathRefused) as info:
        engine.workspace_for(path_to_uri(tmp_path / "elsewhere.py"))
    assert info.value.reason == "outsideWorkspace"


def test_stale_disk_entry_is_never_served(engine: Engine, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    engine.add_folder(path_to_uri(ws))
    uri = path_to_uri(ws / "models.py")
    assert [s["name"] for s in analysis(engine, uri)["symbols"]] == ["Beta", "make_beta"]
    assert analysis(engine, uri)["source"] == "memory"
    time.sleep(0.01)
    (ws / "models.py").write_text("def only():\n    pass\n")  # no watcher: the stat check catches it
    again = analysis(engine, uri)
    assert again["source"] == "computed" and [s["name"] for s in again["symbols"]] == ["only"]


def test_unsaved_edits_win_then_save_invalidates(engine: Engine, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    engine.add_folder(path_to_uri(ws))
    uri = path_to_uri(ws / "util.py")
    engine.did_open(uri, (ws / "util.py").read_text(), 1)
    engine.did_change(uri, "def edited():\n    pass\n", 2)
    assert file(engine, uri)["text"] == "def edited():\n    pass\n"
    assert [s["name"] for s in analysis(engine, uri)["symbols"]] == ["edited"]
    (ws / "util.py").write_text("def edited():\n    pass\n")
    engine.did_save(uri, None)
    engine.did_close(uri)
    assert file(engine, uri)["source"] == "disk"


def test_model_persists_and_a_corrupt_model_is_rebuilt(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    cache = tmp_path / "cache"
    a, b = path_to_uri(ws / "app.py"), path_to_uri(ws / "util.py")
    eng = Engine(Settings(), cache, watch=False)
    eng.add_folder(path_to_uri(ws))
    for _ in range(3):
        eng.did_focus(a)
        eng.did_focus(b)
    eng.close()

    eng = Engine(Settings(), cache, watch=False)
    eng.add_folder(path_to_uri(ws))
    assert [p.uri for p in eng.predict(a, 1)] == [b]
    namespace = eng.workspace_for(a)[0].namespace
    eng.close()

    with sqlite3.connect(cache / DB_NAME) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE name = ?",
            (json.dumps({"version": -1, "junk": True}), MODEL_META.format(namespace=namespace)),
        )
    eng = Engine(Settings(), cache, watch=False)
    eng.add_folder(path_to_uri(ws))
    rebuilt = eng.workspace_for(a)[0].predictor
    assert rebuilt.stats()["transitions"] == 0
    eng.did_focus(a)
    eng.did_focus(b)
    assert rebuilt.stats()["transitions"] == 1
    eng.close()


def test_predict_without_uri_uses_the_last_access(engine: Engine, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    engine.add_folder(path_to_uri(ws))
    a, b = path_to_uri(ws / "app.py"), path_to_uri(ws / "util.py")
    for _ in range(2):
        engine.did_focus(a)
        engine.did_focus(b)
    engine.did_focus(a)
    assert engine.predict(None, 1)[0].uri == b


def test_prefetch_warms_the_predicted_file(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    eng = Engine(Settings(), tmp_path / "cache", watch=False)
    try:
        eng.add_folder(path_to_uri(ws))
        workspace = eng.workspace_for(path_to_uri(ws / "app.py"))[0]
        deadline = time.monotonic() + 5
        while "models.py" not in workspace.known_files and time.monotonic() < deadline:
            time.sleep(0.02)
        a, m = path_to_uri(ws / "app.py"), path_to_uri(ws / "models.py")
        for _ in range(3):
            eng.did_focus(a)
            eng.did_focus(m)
        eng.clear("all")
        eng.did_focus(a)
        assert eng.prefetcher.wait_idle(5)
        assert analysis(eng, m)["source"] == "memory"
        assert eng.stats()["prefetch"]["used"] >= 1
        # what was warmed and not used yet counts its source's bytes, as on disk
        pending = {rel: item.bytes for (_, rel), item in eng.ledger._pending.items()}
        assert pending and all(n == (ws / rel).stat().st_size for rel, n in pending.items())
    finally:
        eng.close()


def test_hot_entries_are_refreshed_ahead_and_cold_ones_dropped(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    eng = Engine(Settings(), tmp_path / "cache", watch=True)
    try:
        eng.add_folder(path_to_uri(ws))
        hot, cold = path_to_uri(ws / "models.py"), path_to_uri(ws / "util.py")
        for _ in range(3):
            analysis(eng, hot)
        analysis(eng, cold)
        assert eng.workspace_for(hot)[0].progress.wait_ready(10)  # the watches are set up
        (ws / "models.py").write_text("class Refreshed:\n    pass\n")
        (ws / "util.py").write_text("def changed():\n    pass\n")
        workspace = eng.workspace_for(hot)[0]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            value = eng.memory.peek(workspace.analysis_key("models.py"))
            if value is not None and Record(value).body()["symbols"][0]["name"] == "Refreshed":
                break
            time.sleep(0.05)
        refreshed = analysis(eng, hot)
        assert refreshed["source"] == "memory"  # recomputed in the background before it was asked
        assert [s["name"] for s in refreshed["symbols"]] == ["Refreshed"]
        dropped = analysis(eng, cold)
        assert dropped["source"] == "computed" and [s["name"] for s in dropped["symbols"]] == ["changed"]
    finally:
        eng.close()


def test_imports_learnt_after_a_ranking_change_the_next_one(tmp_path: Path) -> None:
    """The engine predicts again once the focused file's imports are known: that second
    ranking must use them, not the ranking the model made a moment before."""
    from smartcache_ls.predict.model import Predictor
    from smartcache_ls.workspace import Workspace

    ws = Workspace(path_to_uri(tmp_path), tmp_path, "w", Predictor())
    ws.predictor = Predictor(structure=ws)
    ws.known_files.update({"app.py", "b.py", "lib/deep/models.py"})
    ws.predictor.observe("app.py", 1.0)
    before = {p.path: p.reason for p in ws.predictor.predict(5)}
    assert "imported by app.py" not in before.get("lib/deep/models.py", "")
    ws.set_imports("app.py", ["lib/deep/models.py"])
    after = {p.path: p.reason for p in ws.predictor.predict(5)}
    assert "imported by app.py" in after["lib/deep/models.py"]


def test_a_request_that_reveals_imports_leaves_the_replan_to_the_prefetcher(tmp_path: Path) -> None:
    """A file the index has not read yet shows its imports to the request that analyses it: the
    switch is planned again with them, on the prefetcher's thread once the request is answered,
    never on the request's own thread (it held the editor's answer 2.5 ms on a 10k-file tree)."""
    import threading

    root = make_workspace(tmp_path / "ws")
    eng = Engine(Settings(), tmp_path / "cache", watch=False)
    try:
        ws = eng.add_folder(path_to_uri(root))
        assert eng.index.wait_ready(ws, 10)
        late = root / "late.py"  # after the index was built (and no watcher): the graph lacks it
        late.write_text("import models\nimport util\n\n\ndef late():\n    return util.helper(1)\n")
        uri = path_to_uri(late)
        eng.did_open(uri, late.read_text(), 1)
        assert eng.prefetcher.wait_idle(5)  # the switch's own plan ran, without late.py's imports
        plans: list[tuple[str, bool]] = []
        plan = ws.planner.plan

        def recorded(*args: Any, **kwargs: Any) -> Any:
            plans.append((threading.current_thread().name, kwargs.get("learn", True)))
            return plan(*args, **kwargs)

        ws.planner.plan = recorded  # type: ignore[method-assign]
        assert analysis(eng, uri)["imports"] == ["models", "util"]
        assert plans == []  # nothing planned on the request's thread
        assert eng.prefetcher.wait_idle(5)
        assert plans == [("smartcache-prefetch", False)]  # planned again, the same switch
        assert ws.imports_of("late.py") == ["models.py", "util.py"]
    finally:
        eng.close()


def test_a_cache_dir_inside_the_workspace_is_not_the_developers(tmp_path: Path) -> None:
    """The workspace's ignore rules exclude our own cache directory, so neither the index
    (nor the watcher, nor import resolution) sees the cache's SQLite files."""
    root = make_workspace(tmp_path / "ws")
    eng = Engine(Settings(), root / "cachedir", watch=False)
    try:
        ws = eng.add_folder(path_to_uri(root))
        deadline = time.monotonic() + 10
        while "app.py" not in ws.known_files and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "app.py" in ws.known_files
        assert (root / "cachedir" / DB_NAME).is_file()
        assert not [f for f in ws.known_files if f.startswith("cachedir/")]
        assert ws.rules.ignored(f"cachedir/{DB_NAME}") and ws.rules.ignored("cachedir", is_dir=True)
        assert not ws.rules.ignored("cachedir2/a.py")  # a folder, not a name prefix
    finally:
        eng.close()


def test_focus_on_an_unlisted_file_never_walks_the_known_files(tmp_path: Path) -> None:
    """A file the scan did not list (past its limit, or made since) that the editor focuses is
    known from then on and indexed by the predictor at once: no later prediction walks every
    known file to find it (at 50,000 files each walk held the event loop 50-100 ms), nor after
    a file is deleted."""
    from smartcache_ls.fileindex import FileIndex

    class CountedIndex(FileIndex):
        walks = 0

        def __iter__(self) -> Iterator[str]:
            CountedIndex.walks += 1
            return super().__iter__()

    root = make_workspace(tmp_path / "ws")
    eng = Engine(Settings(), tmp_path / "cache", watch=False)
    try:
        ws = eng.add_folder(path_to_uri(root))
        assert ws.progress.wait_ready(30)
        with ws.lock:
            listed = sorted(ws.known_files)
            ws.known_files = CountedIndex(listed)
        (root / "late.py").write_text("import app\n")
        focused = [*listed, "late.py"] * (70 // len(listed) + 2)  # past the predictor's 64-tick check
        for rel in focused:
            eng.did_focus(path_to_uri(root / rel))
        assert "late.py" in ws.known_files
        with ws.lock:
            ws.drop_file(listed[0])
            ws.predictor.forget(listed[0])
        for rel in focused:
            if rel != listed[0]:
                eng.did_focus(path_to_uri(root / rel))
        assert CountedIndex.walks == 0
        assert "late.py" in {p.path for p in ws.predictor.predict(50, current=listed[1], explain=False)}
    finally:
        eng.close()
