"""Co-change history from the workspace's git log (files that changed together)."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

MARKER = "\x1e"  # git prints it (as %x1e) before each commit's file names


def read_git_cochange(root: Path, max_commits: int = 2000, timeout: float = 10) -> list[list[str]]:
    """The file lists of the last ``max_commits`` non-merge commits, oldest first.

    Paths are relative to ``root`` (``git log --relative``); commits that touch
    nothing under ``root`` are left out. Returns ``[]`` when ``root`` is not in a
    git work tree or git is missing; raises nothing but ``OSError`` subclasses
    are logged at debug level.
    """
    cmd = [
        "git",
        "-C",
        str(root),
        "log",
        "--no-merges",
        "--name-only",
        "--relative",
        "--no-renames",
        "--diff-filter=AM",
        f"--max-count={int(max_commits)}",
        "--format=%x1e",
    ]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            encoding="utf-8",
            errors="replace",
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git log in %s failed: %s", root, exc)
        return []
    if proc.returncode != 0:
        log.debug("git log in %s: exit %s: %s", root, proc.returncode, proc.stderr.strip()[:200])
        return []
    commits: list[list[str]] = []
    current: list[str] | None = None
    for line in proc.stdout.split("\n"):
        if line == MARKER:
            if current:
                commits.append(current)
            current = []
            continue
        name = line.strip()
        if name and current is not None:
            current.append(name)
    if current:
        commits.append(current)
    commits.reverse()
    return commits
