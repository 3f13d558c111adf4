"""URI <-> path conversion and workspace confinement.

Every path that reaches the cache goes through :func:`confine`, which resolves
``..`` and symlinks and refuses anything that is not a regular, reasonably
sized text file inside a workspace folder, and any file whose name marks it as
a secret (:mod:`.secrets`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from .secrets import DEFAULT_SECRETS, SecretPatterns


class PathRefused(Exception):
    """A uri the server will not serve; ``reason`` is a stable machine-readable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def uri_to_path(uri: str) -> Path:
    """Turn a ``file://`` uri into an absolute local path (not yet resolved)."""
    if not isinstance(uri, str) or not uri:
        raise PathRefused("badUri", "uri must be a non-empty string")
    parts = urlsplit(uri)
    if parts.scheme != "file":
        raise PathRefused("badUri", f"only file:// uris are served, got {uri!r}")
    if parts.netloc not in ("", "localhost"):
        raise PathRefused("badUri", f"remote file uris are not served: {uri!r}")
    raw = unquote(parts.path)
    if "\x00" in raw or (not raw.isascii() and not _encodable(raw)):
        raise PathRefused("badUri", f"file uri holds a NUL byte or a lone surrogate: {uri!r}")
    if not raw.startswith("/"):
        raise PathRefused("badUri", f"file uri must hold an absolute path: {uri!r}")
    return Path(os.path.normpath(raw))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def path_to_uri(path: Path | str) -> str:
    """The ``file://`` uri of an absolute path."""
    return "file://" + quote(str(path), safe="/:@&=+$,;~!*'()")


def resolve_path(path: Path | str) -> Path:
    """``os.path.realpath`` of ``path``, asked of the kernel first (:func:`_kernel_real_path`);
    where it cannot say, realpath's answer: a component swapped while it is resolved (realpath
    then raises, e.g. EINVAL from readlink on what became a directory) or a name no file can
    have is refused, not raised."""
    return Path(_real_text(path))


def _real_text(path: Path | str) -> str:
    """:func:`resolve_path` as a string (what the confinement checks compare)."""
    fast = _kernel_real_path(path)
    return fast if fast is not None else _realpath(path)


def _realpath(path: Path | str) -> str:
    try:
        return os.path.realpath(path)
    except OSError as exc:
        raise PathRefused("symlinkRace", f"{path} changed while it was resolved ({exc.strerror})") from None
    except ValueError:  # a NUL byte, a lone surrogate: no file has such a name
        raise PathRefused("badUri", f"{str(path)!r} is not a valid file path") from None


_O_PATH: int | None = getattr(os, "O_PATH", None)


def _kernel_real_path(path: Path | str) -> str | None:
    """The real path of an existing ``path`` as the kernel resolved it: one ``O_PATH`` open (no
    file is opened for reading: a FIFO or a device is not touched) and a readlink of its
    ``/proc/self/fd`` entry, where ``os.path.realpath`` lstats every component in Python (~3x
    the time at depth 5, more deeper). One walk by the kernel, so a component swapped meanwhile
    gives the path of what was really reached, never a mix. None where the kernel cannot say
    (a missing path, a loop, a name no file can have, no ``/proc``, a file deleted meanwhile):
    realpath decides then."""
    if _O_PATH is None:
        return None
    try:
        fd = os.open(path, _O_PATH | os.O_CLOEXEC)
    except (OSError, ValueError):
        return None
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    finally:
        os.close(fd)
    if not target.startswith("/") or target.endswith(" (deleted)"):
        return None
    return target


def relative_to_root(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` as a POSIX string, or None when outside it (or the root
    itself). Both are normalised paths, so a prefix test on their strings does (pathlib's
    relative_to cost more than resolving the path)."""
    return _below(str(path), str(root))


def _below(text: str, root: str) -> str | None:
    prefix = root if root.endswith("/") else root + "/"
    return text[len(prefix) :] if len(text) > len(prefix) and text.startswith(prefix) else None


def confine(uri: str, root: Path, secrets: SecretPatterns = DEFAULT_SECRETS) -> tuple[Path, str]:
    """Resolve ``uri`` (``..`` and symlinks) and check it stays under ``root``.

    ``root`` must itself be resolved. Returns the resolved absolute path and the
    workspace-relative POSIX path the editor knows the file by.
    Raises :class:`PathRefused` when it leaves the workspace, or when the name
    the editor uses or the file it resolves to is a secret (``secrets``).
    """
    return confine_path(uri_to_path(uri), root, secrets, uri)


def confine_path(
    path: Path, root: Path, secrets: SecretPatterns = DEFAULT_SECRETS, name: str | None = None
) -> tuple[Path, str]:
    """:func:`confine` of an absolute, normalised ``path`` (as :func:`uri_to_path` makes them);
    refusals name it as ``name`` (the uri the client sent), else as its uri."""
    text, root_text = str(path), str(root)
    real = _real_text(text)
    if real == root_text:
        raise PathRefused("isDirectory", f"{name or path_to_uri(path)} is the workspace folder itself")
    target = _below(real, root_text)
    if target is None:
        raise PathRefused(
            "outsideWorkspace",
            f"{name or path_to_uri(path)} resolves to {real}, outside the workspace {root}",
        )
    literal = target if real == text else (_below(text, root_text) or target)
    for rel in (literal,) if literal == target else (literal, target):
        if secrets.matches(rel):
            raise PathRefused(
                "secret",
                f"{name or path_to_uri(path)} is a secret ({rel} matches secretPatterns): it is never read",
            )
    return (path if real == text else Path(real)), literal


def check_regular_file(path: Path, max_bytes: int) -> os.stat_result:
    """Stat ``path`` and refuse directories, special files and files over ``max_bytes``."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise PathRefused("notFound", f"{path} does not exist") from None
    except OSError as exc:
        raise PathRefused("unreadable", f"{path} cannot be read: {exc.strerror}") from None
    check_stat(path, st, max_bytes)
    return st


def check_stat(path: Path, st: os.stat_result, max_bytes: int) -> None:
    """Refuse what ``st`` (of ``path``, or of a descriptor opened on it) says is not a regular file
    of at most ``max_bytes`` bytes."""
    if stat.S_ISDIR(st.st_mode):
        raise PathRefused("isDirectory", f"{path} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise PathRefused("notRegularFile", f"{path} is not a regular file")
    if st.st_size > max_bytes:
        raise PathRefused(
            "tooLarge",
            f"{path} is {st.st_size} bytes, above the limit of {max_bytes} bytes (maxFileKB)",
        )


def decode_text(path: Path, data: bytes) -> str:
    """Decode file bytes as UTF-8 text, refusing binary content."""
    if b"\x00" in data[:8192]:
        raise PathRefused("binary", f"{path} is a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PathRefused("binary", f"{path} is not UTF-8 text ({exc.reason})") from None
