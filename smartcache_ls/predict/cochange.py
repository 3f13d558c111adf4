"""Co-change history from the workspace's git log (files that changed together).

The workspace is untrusted, and git obeys the repository's own ``.git/config``
(and any file it includes): ``log.showSignature`` with ``gpg.program``,
``core.fsmonitor``, ``diff.external``, textconv drivers, pagers and aliases all
name programs git would run. So git runs hardened: no system or global config
(``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL=/dev/null``, ``HOME`` and
``XDG_CONFIG_HOME`` an empty directory), no ``GIT_*`` variable of ours leaking
in, every program-naming setting overridden on the command line (which wins over
every config file, includes too), no signatures, external diffs, textconv or
pager, no terminal prompt, no optional locks (nothing is written), stdin closed.
A repository git refuses (another user's, ``safe.directory``) is left unread.

The history is read as a stream, in bounded slices of commits (and of file
names), filtered as it is read to the files the caller keeps (those of its
workspace index), so the caller builds the co-change table outside any lock and
never holds the whole log in memory.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections.abc import Generator, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

MARKER = "\x1e"  # git prints it (as %x1e) before each commit's file names
SLICE_COMMITS = 200  # commits per slice
SLICE_FILES = 5_000  # file names per slice

# Settings that name a program (or make git look for one), each pinned to a harmless value.
# Command-line ``-c`` beats .git/config and everything it includes.
HARDENED_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.askPass=",
    "core.sshCommand=",
    "core.editor=true",
    "core.quotePath=false",
    "core.untrackedCache=false",
    "core.attributesFile=/dev/null",
    "core.alternateRefsCommand=",
    "credential.helper=",
    "diff.external=",
    "diff.orderFile=/dev/null",
    "gpg.program=/bin/false",
    "gpg.ssh.program=/bin/false",
    "gpg.x509.program=/bin/false",
    "log.showSignature=false",
    "log.mailmap=false",
    "mailmap.file=/dev/null",
    "mailmap.blob=",
    "pager.log=false",
    "protocol.allow=never",
    "safe.bareRepository=explicit",
)
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT", "TMPDIR")
_empty_home: str | None = None


def _home() -> str:
    """An empty directory of our own, for git's HOME and XDG_CONFIG_HOME."""
    import tempfile

    global _empty_home
    if _empty_home is None or not os.path.isdir(_empty_home):
        _empty_home = tempfile.mkdtemp(prefix="smartcache-git-home-")
    return _empty_home


def hardened_env() -> dict[str, str]:
    """The environment git runs in: ours minus every ``GIT_*`` and config location."""
    env = {k: v for k, v in os.environ.items() if k in _KEEP_ENV}
    home = _home()
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=home,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_COUNT="0",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_EXTERNAL_DIFF="",
    )
    return env


def git_log_command(root: Path, max_commits: int) -> list[str]:
    cmd = ["git", "--no-pager", "--no-replace-objects", "-C", str(root)]
    for setting in HARDENED_CONFIG:
        cmd += ["-c", setting]
    return [
        *cmd,
        "log",
        "--no-merges",
        "--name-only",
        "--relative",
        "--no-renames",
        "--diff-filter=AM",
        "--no-show-signature",
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "--no-mailmap",
        f"--max-count={int(max_commits)}",
        "--format=%x1e",
    ]


def git_history_slices(
    root: Path,
    max_commits: int = 2000,
    *,
    keep: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    slice_commits: int = SLICE_COMMITS,
    slice_files: int = SLICE_FILES,
) -> Generator[list[tuple[list[str], int]], None, None]:
    """The last ``max_commits`` non-merge commits, newest first, in slices.

    Each slice holds at most ``slice_commits`` commits and about ``slice_files``
    file names; each commit is ``(files, size)``: its files relative to ``root``
    that are in ``keep`` (all of them without ``keep``), as the strings ``keep`` maps them
    to (so that a table built from them shares the caller's strings), and how many it touched.
    Commits touching nothing under ``root`` are left out. Yields nothing when
    ``root`` is not in a git work tree git agrees to read or git is missing; git is
    killed after ``timeout`` seconds (what it printed before is kept).
    """
    try:
        proc = subprocess.Popen(
            git_log_command(root, max_commits),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=hardened_env(),
            cwd=root,
            close_fds=True,
        )
    except OSError as exc:
        log.debug("git log in %s failed: %s", root, exc)
        return
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    # Killed at the deadline even while we wait on its output (a FIFO in .git blocks git itself).
    killer = threading.Timer(timeout, proc.kill)
    killer.daemon = True
    killer.start()
    batch: list[tuple[list[str], int]] = []
    names = 0
    files: list[str] | None = None
    size = 0
    try:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line == MARKER:
                if size:
                    assert files is not None
                    batch.append((files, size))
                    names += len(files)
                files, size = [], 0
                if len(batch) >= slice_commits or names >= slice_files:
                    yield batch
                    batch, names = [], 0
                    if time.monotonic() > deadline:
                        log.debug("git log in %s: stopped after %.1f s", root, timeout)
                        return
                continue
            name = line.strip()
            if name and files is not None:
                size += 1
                if keep is None:
                    files.append(name)
                else:
                    kept = keep.get(name)
                    if kept is not None:
                        files.append(kept)
        if size:
            assert files is not None
            batch.append((files, size))
        if batch:
            yield batch
    finally:
        killer.cancel()
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        if code not in (0, -9):
            log.debug("git log in %s: exit %s", root, code)


def read_git_cochange(root: Path, max_commits: int = 2000, timeout: float = 10) -> list[list[str]]:
    """The file lists of the last ``max_commits`` non-merge commits, oldest first.

    Paths are relative to ``root`` (``git log --relative``); commits that touch
    nothing under ``root`` are left out. Returns ``[]`` when ``root`` is not in a
    git work tree or git is missing.
    """
    commits: list[list[str]] = []
    for batch in git_history_slices(root, max_commits, timeout=timeout):
        commits.extend(files for files, _ in batch)
    commits.reverse()
    return commits
