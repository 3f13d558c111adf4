"""Phase-2 signals: higher-order context, structure, co-change, online weights."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from smartcache_ls.predict.cochange import read_git_cochange
from smartcache_ls.predict.model import FEATURES, PRIOR, Predictor, name_tokens, pair_stem


class Structure:
    """A tiny in-memory workspace: the real provider shape, answering from dicts."""

    def __init__(self, files: Iterable[str], imports: dict[str, list[str]] | None = None) -> None:
        self._files = set(files)
        self._imports = imports or {}

    def imports_of(self, path: str) -> list[str]:
        return self._imports.get(path, [])

    def importers_of(self, path: str) -> list[str]:
        return sorted(a for a, targets in self._imports.items() if path in targets)

    def files(self) -> Iterable[str]:
        return self._files


def rank_of(model: Predictor, path: str, k: int = 10) -> int:
    paths = [p.path for p in model.predict(k)]
    return paths.index(path) if path in paths else k


def test_second_order_context_disambiguates() -> None:
    model = Predictor()
    t = 0.0
    for _ in range(8):
        for p in ["A.py", "B.py", "C.py", "D.py", "B.py", "E.py"]:
            model.observe(p, t)
            model.predict(5)
            t += 5
    model.observe("A.py", t)
    model.observe("B.py", t + 5)
    assert rank_of(model, "C.py") < rank_of(model, "E.py")
    top = {p.path: p for p in model.predict(10)}
    assert "followed A.py then B.py" in top["C.py"].reason
    model.observe("C.py", t + 10)
    model.observe("D.py", t + 15)
    model.observe("B.py", t + 20)
    assert rank_of(model, "E.py") < rank_of(model, "C.py")


def test_imports_predict_a_first_visit_with_reason() -> None:
    files = ["app.py", "models.py", "util.py", "docs/index.md"]
    model = Predictor(structure=Structure(files, {"app.py": ["models.py"]}))
    model.observe("app.py", 1.0)
    ranked = {p.path: p for p in model.predict(5)}
    assert "models.py" in ranked
    assert "imported by app.py" in ranked["models.py"].reason
    model.observe("models.py", 2.0)
    back = {p.path: p for p in model.predict(5)}
    assert "imports models.py" in back["app.py"].reason


def test_test_pairs_and_same_directory() -> None:
    files = ["src/pkg/foo.py", "tests/test_foo.py", "src/pkg/bar.py", "src/pkg/baz.py"]
    model = Predictor(structure=Structure(files))
    model.observe("src/pkg/foo.py", 1.0)
    ranked = {p.path: p for p in model.predict(5)}
    assert "test of src/pkg/foo.py" in ranked["tests/test_foo.py"].reason
    assert "same directory as src/pkg/foo.py" in ranked["src/pkg/bar.py"].reason
    model.observe("tests/test_foo.py", 2.0)
    ranked = {p.path: p for p in model.predict(5)}
    assert "tested by tests/test_foo.py" in ranked["src/pkg/foo.py"].reason


@pytest.mark.parametrize(
    ("path", "stem", "is_test"),
    [
        ("tests/test_foo.py", "foo.py", True),
        ("pkg/foo_test.go", "foo.go", True),
        ("src/FooTest.java", "Foo.java", True),
        ("src/TestFoo.java", "Foo.java", True),
        ("web/foo.spec.ts", "foo.ts", True),
        ("src/Foo.java", "Foo.java", False),
        ("src/Testament.java", "Testament.java", False),
    ],
)
def test_test_stem(path: str, stem: str, is_test: bool) -> None:
    assert pair_stem(path) == (stem, is_test)


def test_name_tokens_split_camel_and_snake() -> None:
    assert name_tokens("a/MindMapMapModel.java") == ("mind", "map", "model")
    assert name_tokens("pkg/http_client2.py") == ("http", "client", "2")


def test_weights_learn_from_hits_and_misses() -> None:
    """Every implementation is followed by its (never seen) test: the test-pair weight grows."""
    files = [f"src/m{i}.py" for i in range(150)] + [f"tests/test_m{i}.py" for i in range(150)]
    model = Predictor(structure=Structure(files))
    t = 0.0
    order = [(i * 37) % 150 for i in range(150)]
    hits_early = hits_late = 0
    for n, i in enumerate(order):
        model.observe(f"src/m{i}.py", t)
        top = [p.path for p in model.predict(1)]
        hit = top == [f"tests/test_m{i}.py"]
        hits_early += hit and n < 50
        hits_late += hit and n >= 100
        model.observe(f"tests/test_m{i}.py", t + 1)
        model.predict(3)
        t += 10
    weights = model.stats()["weights"]
    assert weights["testPair"] > PRIOR["testPair"] + 0.2
    assert weights["sameDir"] < PRIOR["sameDir"]
    assert hits_late >= hits_early
    assert hits_late >= 45


def test_session_recency_does_not_leak_but_learning_persists() -> None:
    model = Predictor()
    t = 0.0
    for _ in range(5):
        for p in ["a.py", "b.py", "c.py"]:
            model.observe(p, t)
            model.predict(3)
            t += 10
    model.observe("zzz.py", t)
    model.start_session()
    model.observe("a.py", t + 10)
    ranked = model.predict(3)
    assert ranked[0].path == "b.py"
    assert all("visited" not in p.reason for p in ranked)


def test_probabilities_are_probabilities() -> None:
    model = Predictor()
    t = 0.0
    for i in range(200):
        model.observe(f"f{(i * 7) % 13}.py", t)
        ranked = model.predict(10)
        assert all(0.0 <= p.probability <= 1.0 for p in ranked)
        assert sum(p.probability for p in ranked) <= 1.0 + 1e-9
        assert [p.probability for p in ranked] == sorted((p.probability for p in ranked), reverse=True)
        t += 3


def git(root: Path, *args: str) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_read_git_cochange_from_a_real_repository(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    commits = [["a.py", "b.py"], ["a.py", "b.py", "c.py"], ["c.py"], ["a.py", "b.py"]]
    for n, files in enumerate(commits):
        for f in files:
            (root / f).write_text(f"# {n}\n", encoding="utf-8")
        git(root, "add", *files)
        git(root, "commit", "-q", "-m", f"c{n}")
    history = read_git_cochange(root)
    assert [sorted(c) for c in history] == [sorted(c) for c in commits]
    assert read_git_cochange(root, max_commits=2) == [["c.py"], ["a.py", "b.py"]]

    model = Predictor()
    model.load_cochange(history)
    model.observe("a.py", 1.0)
    top = model.predict(2)
    assert top[0].path == "b.py"
    assert "changed with a.py in 3 commits" in top[0].reason


def test_read_git_cochange_outside_a_repository(tmp_path: Path) -> None:
    assert read_git_cochange(tmp_path) == []
    assert read_git_cochange(tmp_path / "missing") == []


def _sessions(model: Predictor, n: int, resume: bool) -> float:
    """n sessions an hour apart, each in its own directory (so no transition, directory or name
    signal links them); with ``resume`` each starts, then goes back to where the last one ended."""
    t = 0.0
    for i in range(n):
        t += 3600.0  # a new session by the gap rule, as in the server
        steps = [f"s{i}/start.py"]
        if resume and i > 0:
            steps.append(f"s{i - 1}/end.py")
        steps += [f"s{i}/mid.py", f"s{i}/end.py"]
        for p in steps:
            model.observe(p, t)
            model.predict(3)
            t += 10.0
    return t


def test_resuming_where_the_last_session_ended_is_learnt() -> None:
    resumer = Predictor()
    t = _sessions(resumer, 30, resume=True)
    assert resumer.weights[FEATURES.index("prevSession")] > PRIOR["prevSession"] + 0.3
    resumer.observe("s30/start.py", t + 3600.0)
    top = resumer.predict(3)
    assert top[0].path == "s29/end.py"
    assert "open when the last session ended" in top[0].reason

    # the same signal, never confirmed, is learnt down instead
    leaver = Predictor()
    _sessions(leaver, 30, resume=False)
    assert leaver.weights[FEATURES.index("prevSession")] < PRIOR["prevSession"]


def test_last_session_files_follow_forget_and_rename() -> None:
    model = Predictor()
    t = _sessions(model, 10, resume=True)
    model.observe("s10/start.py", t + 3600.0)
    assert {"s9/end.py", "s9/mid.py"} <= {p.path for p in model.predict(10)}
    model.rename("s9/end.py", "s9/renamed.py")
    model.forget("s9/mid.py")
    paths = [p.path for p in model.predict(10)]
    assert "s9/renamed.py" in paths
    assert "s9/end.py" not in paths
    assert "s9/mid.py" not in paths
