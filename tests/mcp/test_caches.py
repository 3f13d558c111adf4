"""The MCP side's in-process caches (outline reshapes and fits, working-set summaries) on a real
engine and real files: keyed by what the answer was built from, so an edit is never served stale,
and a file the workspace names is confined like any other (symlinks out, secrets)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcache_ls.mcp import queries, tools
from smartcache_ls.mcp.backend import Backend


@pytest.fixture
def backend(workspace: Path, tmp_path: Path) -> Iterator[Backend]:
    b = Backend(Path(os.path.realpath(workspace)), tmp_path / "cache")
    yield b
    b.close()


def _edit(path: Path, text: str) -> None:
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))  # a new mtime, whatever the clock


def test_summary_follows_an_edit_on_disk(backend: Backend) -> None:
    engine, ws = backend.engine(), queries.workspace_of(backend.engine(), backend.root)
    first = queries._file_summary(engine, ws, "util.py")
    assert first == queries._file_summary(engine, ws, "util.py")
    assert "function helper" in first and "1 more" not in first
    _edit(backend.root / "util.py", "import os\n\n\nclass Fresh:\n    pass\n")
    second = queries._file_summary(engine, ws, "util.py")
    assert "class Fresh" in second and "1 imports" in second and "helper" not in second


def test_summary_of_a_symlink_out_of_the_workspace_is_refused(backend: Backend, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def leaked():\n    pass\n")
    (backend.root / "link.py").symlink_to(outside)
    (backend.root / "inner.py").symlink_to(backend.root / "util.py")
    (backend.root / ".env").write_text("TOKEN=1\n")
    engine, ws = backend.engine(), queries.workspace_of(backend.engine(), backend.root)
    assert queries._file_summary(engine, ws, "link.py") == "not readable: outsideWorkspace"
    assert queries._file_summary(engine, ws, ".env") == "not readable: secret"
    assert "function helper" in queries._file_summary(engine, ws, "inner.py")  # a link inside: resolved


def test_outline_follows_an_edit_on_disk(backend: Backend) -> None:
    tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)  # computed; then from memory
    first = tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)
    assert [s["name"] for s in first["symbols"]] == ["helper"] and first["source"] == "memory"
    assert tools.outline(backend, "util.py", tools.OUTLINE_TOKENS) is first  # warm: the fitted answer
    _edit(backend.root / "util.py", "def renamed(x):\n    return x\n\n\ndef other():\n    pass\n")
    deadline = time.monotonic() + 5
    second = tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)
    while second["hash"] == first["hash"] and time.monotonic() < deadline:
        time.sleep(0.05)
        second = tools.outline(backend, "util.py", tools.OUTLINE_TOKENS)
    assert [s["name"] for s in second["symbols"]] == ["renamed", "other"]
    small = tools.outline(backend, "util.py", 100)  # another budget is fitted on its own
    assert small is not second and small["hash"] == second["hash"]
