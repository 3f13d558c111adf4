"""The reference graph from real analyses of small real trees, through the engine."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from smartcache_ls.analysis import analyze
from smartcache_ls.engine import Engine
from smartcache_ls.paths import path_to_uri
from smartcache_ls.settings import Settings
from smartcache_ls.watch import MODIFIED, ChangeBatch
from smartcache_ls.workers import AnalysisPool

JAVA = {
    "src/app/Task.java": (
        "package app;\n\npublic class Task {\n  public static Task of() { return null; }\n}\n"
    ),
    "src/app/TaskList.java": (
        "package app;\n\nimport java.util.List;\n\npublic class TaskList {\n"
        "  List<Task> tasks;\n  Task first() { return Task.of(); }\n}\n"
    ),
    "src/app/view/HistoryView.java": (
        "package app.view;\n\nimport app.TaskList;\n\npublic class HistoryView {\n  TaskList list;\n}\n"
    ),
    "src/other/List.java": "package other;\n\npublic class List {}\n",
}
PYTHON = {
    "pkg/__init__.py": "",
    "pkg/models.py": "class User:\n    pass\n\n\ndef load():\n    return User()\n",
    "pkg/util.py": "def slug(text):\n    return text\n",
    "pkg/app.py": (
        "from pkg.models import User\nfrom pkg import util\n\n\ndef run():\n    return util.slug(User())\n"
    ),
}
TS = {
    "web/api.ts": "export class Client {}\nexport function fetchAll(): number { return 1; }\n",
    "web/main.ts": "import { Client } from './api';\nlet c: Client = new Client();\n",
}
GO = {
    "go.mod": "module example.com/m\n",
    "store/store.go": "package store\n\ntype Store struct{}\n\nfunc Open() *Store { return nil }\n",
    "cmd/main.go": (
        'package main\n\nimport "example.com/m/store"\n\n'
        "func main() { var s *store.Store = store.Open(); _ = s }\n"
    ),
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine(Settings(), tmp_path / "cache", watch=False)
    yield eng
    eng.close()


def built(engine: Engine, root: Path) -> None:
    engine.add_folder(path_to_uri(root))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if engine.stats()["graph"]["files"] and engine.index.builder.wait_idle(30):
            return
        time.sleep(0.02)
    raise AssertionError("the index was not built")


def uses(engine: Engine, root: Path, rel: str) -> dict[str, list[str]]:
    found = engine.related(path_to_uri(root / rel), 20)
    return {item["uri"].removeprefix(path_to_uri(root) + "/"): item["names"] for item in found["uses"]}


def used_by(engine: Engine, root: Path, rel: str) -> set[str]:
    found = engine.related(path_to_uri(root / rel), 20)
    return {item["uri"].removeprefix(path_to_uri(root) + "/") for item in found["usedBy"]}


def test_names_of_each_language() -> None:
    java = analyze("T.java", JAVA["src/app/TaskList.java"])["names"]
    assert java["package"] == "app" and {"Task", "List"} <= set(java["uses"])
    assert java["uses"]["Task"] == 3  # List<Task>, return type, the Task.of() receiver
    py = analyze("a.py", PYTHON["pkg/app.py"])["names"]
    assert {"User", "util", "slug"} <= set(py["uses"])
    ts = analyze("m.ts", TS["web/main.ts"])["names"]
    assert ts["uses"]["Client"] == 3
    go = analyze("m.go", GO["cmd/main.go"])["names"]
    assert go["package"] == "main" and {"Store", "Open"} <= set(go["uses"])


def test_graph_entries_hold_nothing_the_collector_walks_per_definition() -> None:
    import gc

    from smartcache_ls.index.graph import entry_from_analysis

    value = analyze("pkg/models.py", PYTHON["pkg/models.py"])
    entry = entry_from_analysis({**value, "resolvedImports": []}, 1, 1)
    defs = entry.definitions()
    assert [(name, kind) for name, kind, _ in defs] == [("User", "class"), ("load", "function")]
    assert defs[0][2] == (0, 0, 1, 8)  # start line, character, end line, character
    gc.collect()  # the collector untracks a tuple of untracked values (the packed definitions)
    assert not gc.is_tracked(entry.defs)  # a million of them cost no collection


def test_java_same_package_types_have_edges_without_imports(engine: Engine, tmp_path: Path) -> None:
    root = write(tmp_path / "java", JAVA)
    built(engine, root)
    # Task is in the same package: no import names it, the symbol table does
    assert uses(engine, root, "src/app/TaskList.java") == {"src/app/Task.java": ["Task"]}
    # java.util.List is imported from outside: the workspace's own List is not what is meant
    assert "src/other/List.java" not in uses(engine, root, "src/app/TaskList.java")
    assert "src/app/TaskList.java" in uses(engine, root, "src/app/view/HistoryView.java")
    assert used_by(engine, root, "src/app/Task.java") == {"src/app/TaskList.java"}
    found = engine.find_symbol("Task")
    assert [(f["name"], f["kind"]) for f in found[:2]] == [("Task", "class"), ("TaskList", "class")]
    assert found[0]["uri"] == path_to_uri(root / "src/app/Task.java")
    assert found[0]["range"] == {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 1}}
    assert engine.find_symbol("Task", kind="interface") == []


def test_python_ts_go_edges(engine: Engine, tmp_path: Path) -> None:
    root = write(tmp_path / "mixed", {**PYTHON, **TS, **GO})
    built(engine, root)
    app = uses(engine, root, "pkg/app.py")
    assert app["pkg/models.py"] == ["User"] and "slug" in app["pkg/util.py"]
    assert uses(engine, root, "web/main.ts") == {"web/api.ts": ["Client"]}
    assert set(uses(engine, root, "cmd/main.go")["store/store.go"]) == {"Store", "Open"}
    assert used_by(engine, root, "pkg/models.py") == {"pkg/app.py"}


def test_edits_and_watcher_changes_update_the_graph(engine: Engine, tmp_path: Path) -> None:
    root = write(tmp_path / "java", JAVA)
    built(engine, root)
    view = root / "src/app/view/HistoryView.java"
    uri = path_to_uri(view)
    # an edit in the editor: the analysis of the buffer updates the graph
    text = view.read_text().replace("TaskList list;", "TaskList list;\n  app.Task t; Task u;")
    text = text.replace("import app.TaskList;", "import app.TaskList;\nimport app.Task;")
    engine.did_open(uri, view.read_text(), 1)
    engine.did_change(uri, text, 2)
    engine.get_analysis(uri)
    assert "src/app/Task.java" in uses(engine, root, "src/app/view/HistoryView.java")
    engine.did_close(uri)
    # a change on disk seen by the watcher
    task_list = root / "src/app/TaskList.java"
    task_list.write_text("package app;\n\npublic class TaskList {}\n")
    engine._on_changes(ChangeBatch(root, {"src/app/TaskList.java": MODIFIED}, []))
    assert engine.index.builder.wait_idle(10)
    assert uses(engine, root, "src/app/TaskList.java") == {}
    assert used_by(engine, root, "src/app/Task.java") == {"src/app/view/HistoryView.java"}
    # a deleted definer takes its edges with it
    (root / "src/app/Task.java").unlink()
    engine._on_changes(ChangeBatch(root, {"src/app/Task.java": "deleted"}, []))
    assert engine.index.builder.wait_idle(10)
    assert "src/app/Task.java" not in uses(engine, root, "src/app/view/HistoryView.java")


def test_a_restart_reanalyses_only_changed_files(tmp_path: Path) -> None:
    root = write(tmp_path / "java", JAVA)
    cache = tmp_path / "cache"
    first = Engine(Settings(), cache, watch=False)
    built(first, root)
    assert first.stats()["graph"]["analysed"] == len(JAVA)
    first.close()
    changed = root / "src/app/Task.java"
    changed.write_text(changed.read_text() + "\nclass Extra {}\n")
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    second = Engine(Settings(), cache, watch=False)
    try:
        built(second, root)
        index = second.stats()["graph"]
        assert (index["analysed"], index["reused"]) == (1, len(JAVA) - 1)
        assert [f["uri"] for f in second.find_symbol("Extra")] == [path_to_uri(changed)]
        assert "src/app/Task.java" in uses(second, root, "src/app/TaskList.java")
    finally:
        second.close()


def test_related_analyses_a_file_the_index_has_not_reached(engine: Engine, tmp_path: Path) -> None:
    root = write(tmp_path / "java", JAVA)
    built(engine, root)
    fresh = root / "src/app/Fresh.java"
    fresh.write_text("package app;\n\nclass Fresh { Task t; }\n")  # no watcher here: unknown to the index
    assert uses(engine, root, "src/app/Fresh.java") == {"src/app/Task.java": ["Task"]}


def _stored_rows(engine: Engine, namespace: str) -> dict[str, bytes]:
    from smartcache_ls.index.service import GRAPH_FILE

    prefix = GRAPH_FILE.format(namespace=namespace)
    return {name[len(prefix) :]: raw for name, raw in engine.sqlite.meta_with_prefix(prefix)}


def test_a_corrupt_stored_entry_is_read_again(tmp_path: Path) -> None:
    from smartcache_ls.index.service import GRAPH_FILE

    root = write(tmp_path / "java", JAVA)
    cache = tmp_path / "cache"
    first = Engine(Settings(), cache, watch=False)
    built(first, root)
    namespace = first.workspace_for(path_to_uri(root / "src/app/Task.java"))[0].namespace
    first.close()
    second = Engine(Settings(), cache, watch=False)
    name = GRAPH_FILE.format(namespace=namespace) + "src/app/Task.java"
    second.sqlite.write_meta([(name, b'{"format": "smartcache-graph"}')])
    try:
        built(second, root)
        index = second.stats()["graph"]
        assert (index["analysed"], index["reused"]) == (1, len(JAVA) - 1)
        assert used_by(second, root, "src/app/Task.java") == {"src/app/TaskList.java"}
    finally:
        second.close()


def test_a_save_writes_only_the_entries_that_changed(tmp_path: Path) -> None:
    from smartcache_ls.index.service import GRAPH_FILE

    root = write(tmp_path / "java", JAVA)
    engine = Engine(Settings(), tmp_path / "cache", watch=False)
    try:
        built(engine, root)
        ws = engine.workspace_for(path_to_uri(root / "src/app/Task.java"))[0]
        engine.index.save(ws)
        assert set(_stored_rows(engine, ws.namespace)) == set(JAVA)
        # a row the next save would rewrite if it wrote everything
        marker = GRAPH_FILE.format(namespace=ws.namespace) + "src/other/List.java"
        engine.sqlite.write_meta([(marker, b'["marker"]')])
        changed = root / "src/app/Task.java"
        changed.write_text(changed.read_text() + "\nclass Extra {}\n")
        (root / "src/app/view/HistoryView.java").unlink()
        engine._on_changes(
            ChangeBatch(root, {"src/app/Task.java": MODIFIED, "src/app/view/HistoryView.java": "deleted"})
        )
        assert engine.index.builder.wait_idle(10)
        engine.index.save(ws)
        rows = _stored_rows(engine, ws.namespace)
        assert set(rows) == set(JAVA) - {"src/app/view/HistoryView.java"}
        assert rows["src/other/List.java"] == b'["marker"]'
        assert b"Extra" in rows["src/app/Task.java"]
    finally:
        engine.close()


def test_an_older_caches_graph_document_is_read_and_replaced_by_rows(tmp_path: Path) -> None:
    from smartcache_ls.index.graph import RefGraph
    from smartcache_ls.index.service import GRAPH_FILE, GRAPH_META

    root = write(tmp_path / "java", JAVA)
    cache = tmp_path / "cache"
    first = Engine(Settings(), cache, watch=False)
    built(first, root)
    ws = first.workspace_for(path_to_uri(root / "src/app/Task.java"))[0]
    document = RefGraph.document(dict(ws.graph.entries))
    first.close()
    second = Engine(Settings(), cache, watch=False)
    prefix = GRAPH_FILE.format(namespace=ws.namespace)
    second.sqlite.write_meta([(name, None) for name, _ in second.sqlite.meta_with_prefix(prefix)])
    second.sqlite.set_meta(GRAPH_META.format(namespace=ws.namespace), document)
    try:
        built(second, root)
        index = second.stats()["graph"]
        assert (index["analysed"], index["reused"]) == (0, len(JAVA))
        second.save()
        assert set(_stored_rows(second, ws.namespace)) == set(JAVA)
        assert second.sqlite.get_meta(GRAPH_META.format(namespace=ws.namespace)) is None
    finally:
        second.close()


def test_an_editor_event_leaves_the_due_edges_to_the_background(tmp_path: Path) -> None:
    root = write(tmp_path / "java", JAVA)
    # (no prefetch: its planner, on its own thread, settles a slice before it ranks)
    engine = Engine(Settings().merged({"prefetch": {"enabled": False}})[0], tmp_path / "c", watch=False)
    try:
        _editor_events_do_not_settle(engine, root)
    finally:
        engine.close()


def _editor_events_do_not_settle(engine: Engine, root: Path) -> None:
    built(engine, root)
    ws = engine.workspace_for(path_to_uri(root / "src/app/Task.java"))[0]
    with ws.lock:
        ws.graph._due = set(ws.graph.entries)  # as while a build pours files in
    for rel in ("src/app/Task.java", "src/app/TaskList.java"):  # switches: the predictor ranks
        engine.did_open(path_to_uri(root / rel), JAVA[rel], 1)
    assert ws.graph.due == len(JAVA)  # nothing settled on the event loop
    assert used_by(engine, root, "src/app/Task.java") == {"src/app/TaskList.java"}  # a request does


def test_personalised_pagerank_reaches_what_the_session_refers_to() -> None:
    from smartcache_ls.index.graph import FileEntry, RefGraph

    def entry(uses: dict[str, int], defs: list[str]) -> FileEntry:
        return FileEntry(0, 1, "h", None, uses, [], [(d, "class", (0, 0, 0, 0)) for d in defs])

    graph = RefGraph()
    graph.update(
        {
            "a/A.java": entry({"B": 3}, ["A"]),
            "a/B.java": entry({"C": 1}, ["B"]),
            "a/C.java": entry({}, ["C"]),
            "b/Far.java": entry({}, ["Far"]),
            "b/D.java": entry({"Far": 1}, ["D"]),
        }
    )
    assert graph.ranked({"a/A.java": 1.0}, 5) == []  # queries answer from settled edges only
    assert graph.settle(None) == 0
    ranked = dict(graph.ranked({"a/A.java": 1.0}, 5))
    assert ranked["a/B.java"] == 1.0 and 0 < ranked["a/C.java"] < 1.0
    assert "a/A.java" not in ranked and "b/Far.java" not in ranked  # seeds out; unreachable out
    assert graph.ranked({}, 5) == [] and graph.ranked({"nowhere.java": 1.0}, 5) == []


def test_secrets_are_never_read_into_the_graph(engine: Engine, tmp_path: Path) -> None:
    root = write(
        tmp_path / "py",
        {
            "credentials.py": "class Token:\n    pass\n",
            "app.py": "from credentials import Token\n\n\ndef f():\n    return Token()\n",
        },
    )
    built(engine, root)
    assert engine.find_symbol("Token") == []
    assert uses(engine, root, "app.py") == {}
    # a file read into the graph that a new pattern then covers leaves it
    engine.apply_settings(attrs.evolve(engine.settings, secret_patterns=("credentials*", "app.py")))
    ws = next(iter(engine.workspaces.values()))
    assert "app.py" not in ws.graph.entries


def test_a_file_that_crashes_the_index_worker_fails_alone(tmp_path: Path) -> None:
    """The index reads files a few per worker job; a file that kills the worker fails that job
    as a whole, and its files are read again one per job: only that file is counted failed,
    the others of its batch are in the graph."""
    crashy = (
        "import os, smartcache_ls.workers as w\n"
        "real = w.run_job\n"
        "def job(header, blobs):\n"
        "    if header.get('rel') == 'pkg/crash.py':\n"
        "        os._exit(9)\n"
        "    return real(header, blobs)\n"
        "w.run_job = job\n"
        "w.main()\n"
    )
    root = write(tmp_path / "ws", {**PYTHON, "pkg/crash.py": "def boom():\n    pass\n"})
    eng = Engine(Settings(), tmp_path / "cache", watch=False)
    try:
        eng.pool.close()
        eng.pool = AnalysisPool(2, command=[sys.executable, "-c", crashy])
        eng._index_parallel()
        assert eng.index.builder.batch > 1  # (the five files go in one job)
        built(eng, root)
        graph = eng.stats()["graph"]
        assert graph["failed"] == 1 and graph["analysed"] == len(PYTHON), graph
        assert graph["files"] == len(PYTHON)
        app = uses(eng, root, "pkg/app.py")
        assert app["pkg/models.py"] == ["User"] and "slug" in app["pkg/util.py"]
    finally:
        eng.close()
