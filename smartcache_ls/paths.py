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
    """``os.path.realpath`` of ``path``; a component swapped while it is resolved (realpath then
    raises, e.g. EINVAL from readlink on what became a directory) or a name no file can have
    is refused, not raised."""
    try:
        return Path(os.path.realpath(path))
    except OSError as exc:
        raise PathRefused("symlinkRace", f"{path} changed while it was resolved ({exc.strerror})") from None
    except ValueError:  # a NUL byte, a lone surrogate: no file has such a name
        raise PathRefused("badUri", f"{str(path)!r} is not a valid file path") from None


def relative_to_root(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` as a POSIX string, or None when outside it."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    text = rel.as_posix()
    return None if text in ("", ".") else text


def confine(uri: str, root: Path, secrets: SecretPatterns = DEFAULT_SECRETS) -> tuple[Path, str]:
    """Resolve ``uri`` (``..`` and symlinks) and check it stays under ``root``.

    ``root`` must itself be resolved. Returns the resolved absolute path and the
    workspace-relative POSIX path the editor knows the file by.
    Raises :class:`PathRefused` when it leaves the workspace, or when the name
    the editor uses or the file it resolves to is a secret (``secrets``).
    """
    path = uri_to_path(uri)
    resolved = resolve_path(path)
    if resolved == root:
        raise PathRefused("isDirectory", f"{uri} is the workspace folder itself")
    target = relative_to_root(resolved, root)
    if target is None:
        raise PathRefused(
            "outsideWorkspace",
            f"{uri} resolves to {resolved}, outside the workspace {root}",
        )
    literal = relative_to_root(path, root) or target
    for rel in dict.fromkeys((literal, target)):
        if secrets.matches(rel):
            raise PathRefused("secret", f"{uri} is a secret ({rel} matches secretPatterns): it is never read")
    return resolved, literal


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
