"""Background indexing gives back what its phases left free before it reports ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcache_ls import indexing
from smartcache_ls.paths import path_to_uri
from smartcache_ls.predict.model import Predictor
from smartcache_ls.workspace import Workspace


def test_free_memory_is_returned_once_before_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        (tmp_path / f"f{i}.py").write_text("x = 1\n")
    ws = Workspace(path_to_uri(tmp_path), tmp_path, "ws", Predictor())
    states: list[str] = []

    def trim() -> bool:
        states.append(ws.progress.state)
        return True

    monkeypatch.setattr(indexing, "return_free_memory", trim)
    indexing.index_workspace(ws, None, lambda: True)
    assert states == ["history"] and ws.progress.state == "ready" and len(ws.known_files) == 3
