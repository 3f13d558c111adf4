from __future__ import annotations

import threading
import time
from pathlib import Path

from smartcache_ls.ignore import IgnoreRules, scan_files
from smartcache_ls.watch import CREATED, DELETED, MODIFIED, ChangeBatch, Watcher


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
