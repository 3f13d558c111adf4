"""The in-memory file index, and import resolution against it instead of the disk."""

from __future__ import annotations

from pathlib import Path

from smartcache_ls.analysis import resolve_imports
from smartcache_ls.fileindex import FileIndex


def test_directory_listings_follow_every_change() -> None:
    index = FileIndex(["a/x.go", "a/y.go", "b/z.go", "top.go"])
    assert index.names_in("a") == ["x.go", "y.go"] and index.names_in("") == ["top.go"]
    index.add("a/w.go")
    index.discard("a/x.go")
    index.update(["c/new.go", "a/y.go"])
    index -= {"b/z.go"}
    assert index.names_in("a") == ["w.go", "y.go"]
    assert index.names_in("b") == [] and index.names_in("c") == ["new.go"]
    index ^= {"c/new.go", "d/q.go"}
    index &= {"a/w.go", "d/q.go", "top.go"}
    assert sorted(index) == ["a/w.go", "d/q.go", "top.go"]
    assert index.names_in("a") == ["w.go"] and index.names_in("d") == ["q.go"] and index.names_in("c") == []
    index.clear()
    assert index.names_in("a") == [] and not index


def test_resolution_asks_the_index_not_the_disk(tmp_path: Path) -> None:
    """Files only on disk are not resolved; files only in the index are (the disk is not read)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "on_disk.py").write_text("x = 1\n")
    (tmp_path / "go.mod").write_text("module example.com/m\n")
    index = FileIndex(["app.py", "pkg/__init__.py", "pkg/indexed.py", "go.mod", "lib/a.go", "lib/b.go"])
    resolved = resolve_imports(
        tmp_path, "app.py", ["pkg.on_disk", "pkg.indexed"], index.__contains__, index.names_in
    )
    assert resolved == ["pkg/indexed.py"]
    go = resolve_imports(tmp_path, "main.go", ["example.com/m/lib"], index.__contains__, index.names_in)
    assert go == ["lib/a.go", "lib/b.go"]  # a package directory that exists only in the index
