"""What a process watches: its inotify watches read from /proc/PID/fdinfo, mapped to directories."""

from __future__ import annotations

import os
from pathlib import Path


def inotify_inodes(pid: int | str = "self", fds: set[str] | None = None) -> list[int]:
    """The inode of every inotify watch of process ``pid`` (only of descriptors ``fds``, if given)."""
    inodes = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if fds is not None and fd not in fds:
            continue
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue
        for line in info.splitlines():
            if line.startswith("inotify"):
                fields = dict(f.split(":", 1) for f in line.split()[1:])
                inodes.append(int(fields["ino"], 16))
    return inodes


def inotify_fds(pid: int | str = "self") -> set[str]:
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                out.add(fd)
        except OSError:
            continue
    return out


def watched_dirs(root: Path, inodes: list[int]) -> list[str]:
    """The directories under ``root`` (relative, "" for root itself) whose inodes are watched;
    an inode not found under ``root`` shows as ``?<inode>``."""
    by_inode = {root.stat().st_ino: ""}
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            path = Path(dirpath) / name
            by_inode[path.lstat().st_ino] = path.relative_to(root).as_posix()
    return sorted(by_inode.get(i, f"?{i}") for i in inodes)
