from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

from smartcache_ls.ignore import IgnoreRules, scan_files
from smartcache_ls.watch import CREATED, DELETED, MODIFIED, ChangeBatch, Watcher

from ..inotify import inotify_fds, inotify_inodes, watched_dirs


def test_ignore_rules_heavy_dirs_and_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.log\ngenerated/\n")
    rules = IgnoreRules(tmp_path)
    assert rules.ignored("node_modules/x/index.js")
    assert rules.ignored(".git/HEAD")
    assert rules.ignored("src/__pycache__/m.cpython-311.pyc")
    assert rules.ignored("debug.log") and rules.ignored("generated/a.py")
    assert rules.ignored("generated", is_dir=True)
    assert not rules.ignored("src/app.py") and not rules.ignored("build.py")


def test_scan_files_skips_ignored(tmp_path: Path) -> None:
    for rel in ("a.py", "sub/b.py", "node_modules/m.js", "x.log", ".git/config"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / ".gitignore").write_text("*.log\n")
    assert scan_files(tmp_path, IgnoreRules(tmp_path)) == [".gitignore", "a.py", "sub/b.py"]
    assert len(scan_files(tmp_path, IgnoreRules(tmp_path), limit=2)) == 2


class Collector:
    def __init__(self) -> None:
        self.batches: list[ChangeBatch] = []
        self.event = threading.Event()

    def __call__(self, batch: ChangeBatch) -> None:
        self.batches.append(batch)
        self.event.set()

    def merged(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for batch in self.batches:
            out.update(batch.changes)
        return out

    def wait_for(self, rel: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rel in self.merged():
                return True
            time.sleep(0.05)
        return False


def test_watcher_coalesces_a_burst_and_filters(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.tmp\n")
    (tmp_path / "keep.py").write_text("1")
    collector = Collector()
    watcher = Watcher(collector, quiet=0.3, max_delay=3.0)
    watcher.add(tmp_path, IgnoreRules(tmp_path))
    try:
        time.sleep(0.2)
        for i in range(50):
            (tmp_path / "keep.py").write_text(str(i))
        (tmp_path / "new.py").write_text("n")
        (tmp_path / "junk.tmp").write_text("t")
        (tmp_path / "node_modules").mkdir()
        (tmp_path / "node_modules" / "x.js").write_text("x")
        assert collector.wait_for("new.py")
        time.sleep(0.5)
        merged = collector.merged()
        assert merged["keep.py"] == MODIFIED
        assert merged["new.py"] == CREATED
        assert "junk.tmp" not in merged and "node_modules/x.js" not in merged
        assert len(collector.batches) <= 3  # 50+ raw events became a handful of batches
        (tmp_path / "new.py").rename(tmp_path / "renamed.py")
        assert collector.wait_for("renamed.py")
        assert collector.merged()["new.py"] == DELETED
        assert ("new.py", "renamed.py") in [r for b in collector.batches for r in b.renames]
    finally:
        watcher.stop()


def _tree(root: Path) -> None:
    for rel in (
        "src/a/one.py",
        "src/b/two.py",
        "docs/index.md",
        "node_modules/pkg/lib/index.js",
        ".git/objects/ab/cdef",
        "build/out/x.o",
        "gen/deep/made.py",
        "top.py",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    (root / ".gitignore").write_text("gen/\n")


def _watched(root: Path, fds: set[str]) -> list[str]:
    return watched_dirs(root, inotify_inodes("self", fds))


def test_watches_only_directories_that_are_not_ignored(tmp_path: Path) -> None:
    """One inotify watch per non-ignored directory: none in node_modules, .git, build or a
    .gitignored folder; new directories are watched (and their files reported), removed and
    newly ignored ones are dropped, a renamed one is watched under its new name."""
    root = tmp_path / "ws"
    _tree(root)
    before = inotify_fds()
    collector = Collector()
    watcher = Watcher(collector, quiet=0.1, max_delay=1.0)
    try:
        assert watcher.add(root, IgnoreRules(root))
        fds = inotify_fds() - before
        assert len(fds) == 1  # one descriptor for every watch
        assert _watched(root, fds) == ["", "docs", "src", "src/a", "src/b"]
        assert watcher.watched_dirs(root) == 5

        (root / "src" / "new" / "deeper").mkdir(parents=True)
        (root / "src" / "new" / "deeper" / "late.py").write_text("x")
        (root / "node_modules" / "other").mkdir()
        assert collector.wait_for("src/new/deeper/late.py")
        assert collector.merged()["src/new/deeper/late.py"] == CREATED
        (root / "src" / "new" / "deeper" / "later.py").write_text("y")  # seen by the new watch
        assert collector.wait_for("src/new/deeper/later.py")
        assert _watched(root, fds) == ["", "docs", "src", "src/a", "src/b", "src/new", "src/new/deeper"]

        shutil.rmtree(root / "src" / "b")
        assert collector.wait_for("src/b/two.py") and collector.merged()["src/b/two.py"] == DELETED
        (root / "src" / "a").rename(root / "src" / "a2")
        assert collector.wait_for("src/a2/one.py")
        assert ("src/a/one.py", "src/a2/one.py") in [r for b in collector.batches for r in b.renames]
        (root / ".gitignore").write_text("gen/\ndocs/\n")
        deadline = time.monotonic() + 5
        expected = ["", "src", "src/a2", "src/new", "src/new/deeper"]
        while _watched(root, fds) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _watched(root, fds) == expected
        (root / "src" / "a2" / "one.py").write_text("changed")
        assert collector.wait_for("src/a2/one.py")
    finally:
        watcher.stop()
    assert not inotify_fds() - before  # stopping closes the descriptor


def test_a_checkout_storm_is_a_few_batches_with_new_directories_watched(tmp_path: Path) -> None:
    """git checkout between branches that differ by whole directories: every file of the old
    one deleted, every file of the new one created (its directories watched as they appear),
    in a handful of batches."""
    from ..e2e.test_hostile_git import git

    root = tmp_path / "repo"
    (root / "old" / "sub").mkdir(parents=True)
    git(root, "init", "-q", "-b", "one")
    for i in range(150):
        (root / "old" / "sub" / f"f{i}.py").write_text(f"{i}\n")
    (root / "common.py").write_text("one\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    git(root, "checkout", "-q", "-b", "two")
    git(root, "rm", "-q", "-r", "old")
    (root / "new" / "deep").mkdir(parents=True)
    for i in range(150):
        (root / "new" / "deep" / f"g{i}.py").write_text(f"{i}\n")
    (root / "common.py").write_text("two\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "two")
    git(root, "checkout", "-q", "one")

    before = inotify_fds()
    collector = Collector()
    watcher = Watcher(collector, quiet=0.3, max_delay=3.0)
    try:
        assert watcher.add(root, IgnoreRules(root))
        fds = inotify_fds() - before
        time.sleep(0.1)
        git(root, "checkout", "-q", "two")
        assert collector.wait_for("new/deep/g149.py") and collector.wait_for("old/sub/f149.py")
        time.sleep(0.8)
        merged = collector.merged()
        assert all(merged[f"new/deep/g{i}.py"] == CREATED for i in range(150))
        assert all(merged[f"old/sub/f{i}.py"] == DELETED for i in range(150))
        assert merged["common.py"] == MODIFIED
        assert not [rel for rel in merged if rel.startswith(".git/")]
        assert len(collector.batches) <= 3
        assert _watched(root, fds) == ["", "new", "new/deep"]
    finally:
        watcher.stop()


def test_watcher_reports_no_secret_and_gitignore_reload_is_checked(tmp_path: Path) -> None:
    collector = Collector()
    watcher = Watcher(collector, quiet=0.2, max_delay=2.0)
    rules = IgnoreRules(tmp_path)
    watcher.add(tmp_path, rules)
    try:
        time.sleep(0.2)
        (tmp_path / ".env").write_text("TOKEN=1\n")
        (tmp_path / ".ssh").mkdir()
        (tmp_path / ".ssh" / "config").write_text("Host x\n")
        (tmp_path / "server.pem").write_text("KEY\n")
        (tmp_path / "plain.py").write_text("x = 1\n")
        assert collector.wait_for("plain.py")
        time.sleep(0.4)
        assert set(collector.merged()) == {"plain.py"}
        # A .gitignore made a FIFO: the reload its creation triggers skips it instead of blocking
        # the watcher's thread, and events keep coming.
        os.mkfifo(tmp_path / ".gitignore")
        (tmp_path / "after.py").write_text("y = 2\n")
        assert collector.wait_for("after.py")
    finally:
        with contextlib.suppress(OSError):  # release a reader blocked on the FIFO, if any
            os.close(os.open(tmp_path / ".gitignore", os.O_WRONLY | os.O_NONBLOCK))
        watcher.stop()
