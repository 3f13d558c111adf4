"""The predictor's reference-graph features, on the graph of a small real tree."""

from __future__ import annotations

from pathlib import Path

from smartcache_ls.index.offline import GraphStructure, build_graph
from smartcache_ls.predict.model import F, Predictor
from tests.index.test_graph import JAVA, write


def model(tmp_path: Path) -> Predictor:
    root = write(tmp_path / "java", JAVA)
    return Predictor(structure=GraphStructure(*build_graph(root)))


def test_files_the_current_file_refers_to_are_candidates_with_reasons(tmp_path: Path) -> None:
    predictor = model(tmp_path)
    predictor.observe("src/app/view/HistoryView.java", 1.0)
    predictor.observe("src/app/TaskList.java", 2.0)
    ranked = {p.path: p.reason for p in predictor.predict(5)}
    # never opened, reached only through the graph: TaskList uses Task, which defines it
    assert "src/app/Task.java" in ranked
    # without a graph it is not a candidate at all
    bare = Predictor()
    bare.observe("src/app/view/HistoryView.java", 1.0)
    bare.observe("src/app/TaskList.java", 2.0)
    assert "src/app/Task.java" not in {p.path for p in bare.predict(5)}


def test_reasons_name_the_reference_signals(tmp_path: Path) -> None:
    predictor = model(tmp_path)
    predictor.weights[F["refs"]] = 3.0  # as if learnt: make the signal the strongest
    predictor.weights[F["refBy"]] = 3.0
    predictor.observe("src/app/TaskList.java", 1.0)
    reasons = {p.path: p.reason for p in predictor.predict(5)}
    assert reasons["src/app/Task.java"].startswith("defines Task, used here")
    assert reasons["src/app/view/HistoryView.java"].startswith("uses TaskList of TaskList.java")


def test_reference_weights_are_learnt_online(tmp_path: Path) -> None:
    predictor = model(tmp_path)
    before = predictor.weights[F["refs"]]
    t = 0.0
    for _ in range(5):  # the developer keeps going from a file to what it uses
        for path in ("src/app/view/HistoryView.java", "src/app/TaskList.java", "src/app/Task.java"):
            t += 1.0
            predictor.observe(path, t)
        predictor.start_session()
    assert predictor.weights[F["refs"]] > before
