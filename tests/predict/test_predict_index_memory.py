"""The predictor's name index holds little per file besides the path (the file index's string)."""

from __future__ import annotations

import gc
import tracemalloc

from smartcache_ls.predict.model import Predictor, index_entry


def _paths(n: int) -> list[str]:
    return [f"src/pkg{i // 1000:03d}/mod{i // 100:04d}/file{i:06d}.py" for i in range(n)]


def test_indexing_holds_at_most_260_bytes_a_file() -> None:
    """20,000 files of the 100k-file bench's shape: 367 bytes a file with a set of the indexed
    paths beside the directory rows and every token interned, 214 without."""
    paths = _paths(20_000)
    gc.collect()
    tracemalloc.start()
    try:
        model = Predictor()
        for start in range(0, len(paths), 256):
            model.index_entries([index_entry(rel) for rel in paths[start : start + 256]])
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / len(paths) <= 260, f"{held / len(paths):.0f} bytes a file"


def test_indexed_files_are_found_by_directory_and_forgotten() -> None:
    model = Predictor()
    model.index_files(["a/x.py", "a/y.py", "b/x.py"])
    model.index_files(["a/x.py"])  # (indexed once)
    assert model._indexed("a/x.py") and not model._indexed("a/z.py") and model._n_indexed == 3
    model.forget("a/x.py")
    assert not model._indexed("a/x.py") and model._indexed("b/x.py") and model._n_indexed == 2
    model.rename("b/x.py", "c/x.py")
    assert not model._indexed("b/x.py") and model._indexed("c/x.py") and model._n_indexed == 2


def test_a_cochange_table_indexes_what_was_found_unindexed_without_the_lock() -> None:
    from smartcache_ls.predict.model import CoChangeTable

    model = Predictor()
    model.index_files(["a/x.py", "a/y.py"])
    table = CoChangeTable()
    for _ in range(3):
        table.add(["a/x.py", "a/y.py", "b/new.py", "c/late.py"])
    table.finish()
    unindexed = model.unindexed(table.counts)  # (what the index thread computes without the lock)
    assert sorted(unindexed) == ["b/new.py", "c/late.py"]
    model.index_files(["c/late.py"])  # meanwhile, under the lock: indexed by the engine
    before = model._n_indexed
    model.set_cochange(table, unindexed)
    assert model._indexed("b/new.py") and model._indexed("c/late.py")
    assert model._n_indexed == before + 1  # (c/late.py once)
    assert model._git_n["a/x.py"] == 3 and "a/y.py" in model._git["a/x.py"]

    full = Predictor()  # without the list: every path of the table is checked under the lock
    full.set_cochange(table)
    assert all(full._indexed(p) for p in table.counts)
