"""The one reader for every file the server opens: checked once, read from the descriptor.

A path is resolved (``..`` and symlinks inside the workspace are followed; a path
that is already canonical is taken as it is), then opened once, walking down from
the root one component at a time with ``O_NOFOLLOW`` (directories as ``O_PATH``
descriptors, the file itself with ``O_NONBLOCK``), so nothing outside the root is
ever opened, not even a device reached through a directory swapped for a symlink
after resolving. What was opened is checked on the descriptor itself (``fstat``:
a regular file within the size bound; its real path, read back from
``/proc/self/fd``, inside the root) and read from that descriptor. A directory or
symlink swapped in between the check and the open, a FIFO, a device or a file
that grew past the bound is refused, never waited on.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .paths import PathRefused, check_stat, resolve_path

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
# A directory on the way down: a handle to walk through (O_PATH needs no read permission).
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_PROC_FD = Path("/proc/self/fd")


def _below(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` when strictly below it; both absolute and normalised, so
    plain string work does (pathlib's relative_to cost more than the whole open here)."""
    prefix = root if root.endswith("/") else root + "/"
    return path[len(prefix) :] if path.startswith(prefix) and len(path) > len(prefix) else None


def _opened_path(fd: int) -> str | None:
    """The real path of an open descriptor, or None where the OS cannot say."""
    try:
        return os.readlink(f"{_PROC_FD}/{fd}")
    except OSError:
        return None


def open_checked(path: Path, root: Path, max_bytes: int) -> tuple[int, os.stat_result]:
    """Open ``path`` (under the resolved ``root``) once and check what was opened.

    Returns the descriptor (the caller closes it) and its ``fstat``. Raises
    :class:`PathRefused` for anything that is not a regular file of at most
    ``max_bytes`` bytes inside ``root``.
    """
    fd = _open_canonical(path, root)
    if fd is None:  # a symlink on the way (or ``..``): resolve, then walk down the resolved path
        resolved = str(resolve_path(path))
        if resolved == str(root):
            raise PathRefused("isDirectory", f"{path} is the workspace folder itself")
        rel = _below(resolved, str(root))
        if rel is None:
            raise PathRefused("outsideWorkspace", f"{path} resolves to {resolved}, outside {root}")
        fd = _open_beneath(path, root, rel)
    try:
        st = os.fstat(fd)
        check_stat(path, st, max_bytes)
        real = _opened_path(fd)
        if real is not None and real != str(root) and _below(real, str(root)) is None:
            raise PathRefused("outsideWorkspace", f"{path} opened {real}, outside {root}")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _open_canonical(path: Path, root: Path) -> int | None:
    """The walk down to ``path`` as written when it is already canonical (absolute, under
    ``root``, no ``..``, no symlink on the way: the engine passes resolved paths), which saves
    resolving it again; None when it is not, and resolving must come first."""
    text = str(path)
    if not text.startswith("/") or "/.." in text:  # (a name starting with '..' just resolves)
        return None
    rel = _below(text, str(root))
    if rel is None:
        return None
    try:
        return _open_beneath(path, root, rel)
    except PathRefused as exc:
        if exc.reason == "symlinkRace":
            return None
        raise


def _open_beneath(path: Path, root: Path, rel: str) -> int:
    """Open ``root/rel`` without following any symlink below ``root``: each directory
    is opened relative to its parent's descriptor, the file relative to its directory's."""
    *dirs, name = rel.split("/")
    dir_fd: int | None = None
    try:
        dir_fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)  # the root is resolved: no symlink
        for part in dirs:
            child = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = child
        return os.open(name, _FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise PathRefused("notFound", f"{path} does not exist") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a component became a symlink or a file
            raise PathRefused("symlinkRace", f"{path} changed while it was opened") from None
        raise PathRefused("unreadable", f"{path} cannot be read: {exc.strerror}") from None
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def read_checked(path: Path, root: Path, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file inside ``root`` (at most ``max_bytes``) and its ``fstat``."""
    fd, st = open_checked(path, root, max_bytes)
    try:
        chunks: list[bytes] = []
        size = 0
        # Never allocate for the bound: read what the file holds, in modest chunks.
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise PathRefused("tooLarge", f"{path} grew above the limit of {max_bytes} bytes")
        return b"".join(chunks), st
    except OSError as exc:
        raise PathRefused("unreadable", f"{path} cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)


def read_optional_text(path: Path, root: Path, max_bytes: int) -> str | None:
    """A workspace configuration file (go.mod, package.json, .gitignore, ...) as text, or None.

    Anything refused (missing, special, too large, outside) is None: such files
    are hints, never worth an error or a wait.
    """
    try:
        data, _ = read_checked(path, root, max_bytes)
    except PathRefused:
        return None
    return data.decode("utf-8", errors="replace")
