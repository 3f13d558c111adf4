"""Background indexing: the predictor learns only files the workspace index holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smartcache_ls.engine import Engine
from smartcache_ls.paths import path_to_uri
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
        assert ws.progress.snapshot()["commits"] == 4
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
