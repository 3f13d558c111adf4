"""The cache directory and its files belong to the user alone (they hold file contents).

* Directories we create are 0700 and files 0600, whatever the umask (modes are set
  explicitly after creation, never left to the umask).
* An existing cache directory must be ours (owned by the effective uid) and not writable
  by group or others; otherwise it is refused (``UnsafeCacheDir``) and ``usable_cache_dir``
  falls back to a fresh private directory of this session (``mkdtemp``: 0700, unique,
  under ``$XDG_RUNTIME_DIR`` when that is ours, else the temp dir), removed when the
  server exits: the server still initializes and caches, only nothing persists.
* An existing directory of ours that others can read (what older versions created, 0755)
  is tightened to 0700 when it holds nothing but our cache files, and our cache files
  (``cache.sqlite3``, its ``-wal``/``-shm``, set-aside copies) are tightened to 0600.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "UnsafeCacheDir",
    "check_private_dir",
    "create_private_file",
    "make_private_dirs",
    "tighten_files",
    "usable_cache_dir",
]

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _euid() -> int:
    """The effective uid (-1 where there is none: there, as on Windows, ownership is not checked)."""
    return os.geteuid() if hasattr(os, "geteuid") else -1


class UnsafeCacheDir(Exception):
    """A cache directory that other users could read from or write into."""


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parent, each 0700 (existing ones are left as they are)."""
    missing: list[Path] = []
    current = Path(os.path.abspath(path))
    while not current.exists() and not current.is_symlink():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            os.mkdir(directory, DIR_MODE)
            os.chmod(directory, DIR_MODE)  # the umask may have taken bits away


def check_private_dir(path: Path, owned: tuple[str, ...] = (), owned_dirs: tuple[str, ...] = ()) -> Path:
    """Create or check the cache directory; its real path. Raises UnsafeCacheDir.

    ``owned``: name prefixes of the files that are ours in it (tightened to 0600; a
    directory holding only such files, and the ``owned_dirs`` (subdirectories other parts
    of the server keep private themselves), is tightened to 0700)."""
    make_private_dirs(path)
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except OSError as exc:
        raise UnsafeCacheDir(f"{path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCacheDir(f"{path} is not a directory")
    if _euid() < 0:
        return real  # no POSIX owners or modes here
    if st.st_uid != _euid():
        raise UnsafeCacheDir(f"{path} is owned by uid {st.st_uid}, not by this user (uid {_euid()})")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise UnsafeCacheDir(f"{path} is writable by other users (mode {mode:04o})")
    foreign = tighten_files(real, owned, owned_dirs)
    if mode & 0o077 and not foreign:
        os.chmod(real, DIR_MODE)
    return real


def tighten_files(directory: Path, owned: tuple[str, ...], owned_dirs: tuple[str, ...] = ()) -> bool:
    """Make our files in ``directory`` 0600; True if it holds anything else. Raises
    UnsafeCacheDir for one of our files owned by another user (it could be read or swapped)."""
    foreign = False
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise UnsafeCacheDir(f"{directory} cannot be listed: {exc.strerror}") from None
    for name in names:
        if name in owned_dirs and stat.S_ISDIR(os.lstat(directory / name).st_mode):
            continue
        if not owned or not name.startswith(owned):
            foreign = True
            continue
        path = directory / name
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeCacheDir(f"{path} is not a regular file")
        if _euid() >= 0 and st.st_uid != _euid():
            raise UnsafeCacheDir(f"{path} is owned by uid {st.st_uid}, not by this user")
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, FILE_MODE)
    return foreign


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then opens it and gives
    its -wal and -shm the same mode); an existing file of ours is tightened to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE)
    except FileExistsError:
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_uid == _euid() and stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(path, FILE_MODE)
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def usable_cache_dir(
    path: Path, owned: tuple[str, ...], owned_dirs: tuple[str, ...] = ()
) -> tuple[Path, str | None]:
    """(the directory to cache in, None; or a session directory to remove at exit, and why
    ``path`` was refused): ``path`` if it is safe, else (with a warning) a fresh private one."""
    try:
        check_private_dir(path, owned, owned_dirs)
        return path, None
    except (UnsafeCacheDir, OSError) as exc:
        reason = str(exc)
    import tempfile  # (only on this path: its import costs start-up time)

    fallback = Path(tempfile.mkdtemp(prefix="smartcache-ls-", dir=_runtime_dir()))
    log.warning(
        "cache directory refused: %s; caching in %s for this session only (make the directory "
        "yours and mode 0700, or set another cacheDir, to keep a cache across sessions)",
        reason,
        fallback,
    )
    return fallback, reason


def _runtime_dir() -> str | None:
    """$XDG_RUNTIME_DIR when it is a directory of ours that nobody else can enter."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        return None
    try:
        st = os.stat(runtime)
    except OSError:
        return None
    ok = stat.S_ISDIR(st.st_mode) and st.st_uid == _euid() and not stat.S_IMODE(st.st_mode) & 0o077
    return runtime if ok else None
