"""The live link: an editor's smartcache-ls answers ``smartcache-ls mcp`` on the same workspace.

The LSP server listens on one Unix domain socket per workspace folder it serves,
``<cache dir>/live/<namespace>.sock``: the directory is 0700 and the socket 0600,
both owned by the user, and every connection's peer uid (``SO_PEERCRED``) must be
the server's own. No TCP: nothing is reachable from another user or machine.

The protocol is JSON lines: a request ``{"id": n, "method": m, "params": {...}}``
gets ``{"id": n, "result": ...}`` or ``{"id": n, "error": {"reason", "message"}}``.
Each connection is served on a thread of its own; the LSP event loop is never
involved, so a slow request cannot delay the editor.

Paths are bound and connected through ``/proc/self/fd/<dir fd>/<name>``: the
directory is opened once (``O_NOFOLLOW``) and checked on its descriptor, and the
socket path stays short whatever the cache dir's length (sun_path holds 108 bytes).

Stale endpoints (the owner died without unlinking its socket) refuse connections:
whoever finds one removes it. A second editor on the same workspace takes the
endpoint over; the first one's socket is then unreachable until it exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ..protocol import RawJSON
from ..workspace import namespace_of

log = logging.getLogger(__name__)

LIVE_DIR = "live"
MAX_REQUEST = 1 << 20  # bytes of one request line
MAX_RESPONSE = 64 << 20  # bytes of one response line (a file is at most maxFileKB, 2 MB by default)
MAX_CONNECTIONS = 16
CALL_TIMEOUT = 15.0  # seconds a client waits for one answer
QUIET_AFTER_TIMEOUT = 30.0  # seconds a client answers alone after the editor did not answer in time
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

Handler = Callable[[str, dict[str, Any]], Any]


class LinkError(Exception):
    """The link cannot be used (no endpoint, stale, wrong owner, broken); the caller works alone."""


class RemoteError(Exception):
    """The other side answered with an error: ``reason`` is a stable code, as in PathRefused."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def endpoint_name(root: Path) -> str:
    return f"{namespace_of(root)}.sock"


def open_live_dir(cache_dir: Path, *, create: bool) -> int:
    """A descriptor of ``<cache_dir>/live``, checked: a directory of ours that nobody else can enter."""
    path = cache_dir / LIVE_DIR
    if create:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o700)
        except OSError as exc:
            raise LinkError(f"cannot create {path}: {exc.strerror or exc}") from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise LinkError(f"{path}: {exc.strerror}") from None
    st = os.fstat(fd)
    if st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077:
        os.close(fd)
        raise LinkError(
            f"{path} is not a private directory of this user (mode {stat.S_IMODE(st.st_mode):o}, "
            f"owner uid {st.st_uid}): remove it, or make it yours with mode 700"
        )
    return fd


def _via(dir_fd: int, name: str) -> str:
    return f"/proc/self/fd/{dir_fd}/{name}"


def peer_uid(sock: socket.socket) -> int:
    _, uid, _ = _CRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size))
    return int(uid)


def _is_our_socket(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return st if stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid() else None


def _remove_stale(dir_fd: int, name: str) -> None:
    if _is_our_socket(dir_fd, name) is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dir_fd)
        log.info("removed the stale live endpoint %s", name)


def _probe(dir_fd: int, name: str) -> bool:
    """Whether a live server accepts connections on ``name``; a stale socket is removed."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(1.0)
    try:
        sock.connect(_via(dir_fd, name))
        return True
    except (ConnectionRefusedError, FileNotFoundError):
        _remove_stale(dir_fd, name)
        return False
    except OSError:
        return False
    finally:
        sock.close()


def _error(reason: str, message: str) -> dict[str, str]:
    return {"reason": reason, "message": message}


class Endpoint:
    """The LSP side for one workspace folder: a listening socket and a thread per connection."""

    def __init__(self, cache_dir: Path, root: Path, handle: Handler) -> None:
        self.root = root
        self.name = endpoint_name(root)
        self._handle = handle
        self._dir_fd = open_live_dir(cache_dir, create=True)
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.path = cache_dir / LIVE_DIR / self.name
        try:
            if _probe(self._dir_fd, self.name):
                log.info("another editor serves %s: this session takes its live endpoint over", root)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.name, dir_fd=self._dir_fd)
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.bind(_via(self._dir_fd, self.name))
            os.chmod(self.name, 0o600, dir_fd=self._dir_fd)
            self._ino = os.stat(self.name, dir_fd=self._dir_fd, follow_symlinks=False).st_ino
            self._sock.listen(8)
        except OSError as exc:
            os.close(self._dir_fd)
            raise LinkError(f"cannot listen on {self.path}: {exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._accept, name="smartcache-live", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                if self._closed.is_set():
                    return
                continue
            try:
                uid = peer_uid(conn)
            except OSError:
                uid = -1
            with self._lock:
                busy = len(self._conns) >= MAX_CONNECTIONS
                if uid == os.getuid() and not busy:
                    self._conns.add(conn)
            if uid != os.getuid() or busy:
                log.warning("live endpoint: refused a connection (peer uid %d, busy %s)", uid, busy)
                conn.close()
                continue
            threading.Thread(
                target=self._serve, args=(conn,), name="smartcache-live-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            reader = conn.makefile("rb")
            while not self._closed.is_set():
                line = reader.readline(MAX_REQUEST + 1)
                if not line:
                    return
                conn.sendall(self._answer(line) + b"\n")
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _answer(self, line: bytes) -> bytes:
        msg_id: Any = None
        try:
            if len(line) > MAX_REQUEST:
                raise RemoteError("invalidRequest", f"request above {MAX_REQUEST} bytes")
            try:
                request = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise RemoteError("invalidRequest", f"not JSON: {exc}") from None
            if not isinstance(request, dict):
                raise RemoteError("invalidRequest", "a request is a JSON object")
            msg_id = request.get("id")
            method, params = request.get("method"), request.get("params") or {}
            if not isinstance(method, str) or not isinstance(params, dict):
                raise RemoteError("invalidRequest", "a request has a string method and object params")
            result = self._handle(method, params)
            if isinstance(result, RawJSON):  # already encoded: written into the reply as it is
                result = orjson.Fragment(result.data)
            return orjson.dumps({"id": msg_id, "result": result})
        except RemoteError as exc:
            return orjson.dumps({"id": msg_id, "error": _error(exc.reason, exc.message)})
        except Exception:
            log.exception("live endpoint: request failed")
            return orjson.dumps({"id": msg_id, "error": _error("internal", "the editor's server failed")})

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        st = _is_our_socket(self._dir_fd, self.name)
        if st is not None and st.st_ino == self._ino:  # not an endpoint another session took over
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.name, dir_fd=self._dir_fd)
        os.close(self._dir_fd)
        self._thread.join(timeout=2)


class Client:
    """The MCP side: one connection to the editor's endpoint, made on demand and remade when lost."""

    def __init__(self, cache_dir: Path, root: Path, *, timeout: float = CALL_TIMEOUT) -> None:
        self.cache_dir = cache_dir
        self.name = endpoint_name(root)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self._ids = 0
        self._lock = threading.Lock()
        self._quiet_until = 0.0

    def _connect(self) -> None:
        dir_fd = open_live_dir(self.cache_dir, create=False)
        try:
            if _is_our_socket(dir_fd, self.name) is None:
                raise LinkError("no editor session serves this workspace")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(_via(dir_fd, self.name))
            except ConnectionRefusedError:
                sock.close()
                _remove_stale(dir_fd, self.name)
                raise LinkError("the editor session's endpoint was stale") from None
            except OSError as exc:
                sock.close()
                raise LinkError(f"cannot reach the editor session: {exc.strerror or exc}") from None
            if peer_uid(sock) != os.getuid():
                sock.close()
                raise LinkError("the live endpoint belongs to another user")
        finally:
            os.close(dir_fd)
        self._sock, self._reader = sock, sock.makefile("rb")

    def _drop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = self._reader = None

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """The editor session's answer; LinkError when there is none (or it went away mid-call)."""
        return orjson.loads(self.call_raw(method, params))

    def call_raw(self, method: str, params: dict[str, Any]) -> bytes:
        """The editor session's answer as the JSON bytes it sent, not decoded; LinkError or
        RemoteError as :meth:`call`."""
        with self._lock:
            if time.monotonic() < self._quiet_until:
                raise LinkError("the editor session did not answer in time lately")
            for attempt in (1, 2):
                if self._sock is None:
                    self._connect()
                assert self._sock is not None
                self._ids += 1
                error: OSError | None = None
                try:
                    self._sock.sendall(
                        orjson.dumps({"id": self._ids, "method": method, "params": params}) + b"\n"
                    )
                    line = self._reader.readline(MAX_RESPONSE + 1)
                except OSError as exc:
                    line, error = b"", exc
                if line.endswith(b"\n"):
                    break
                self._drop()  # the editor's server restarted or exited: try a fresh connection once
                if isinstance(error, TimeoutError):
                    self._quiet_until = time.monotonic() + QUIET_AFTER_TIMEOUT  # a stopped editor
                    raise LinkError(f"the editor session did not answer within {self.timeout:g} s")
                if attempt == 2:
                    raise LinkError("the editor session closed the connection")
            msg_id = self._ids
        head = b'{"id":%d,"result":' % msg_id
        if line.startswith(head) and line.endswith(b"}\n"):  # the endpoint's own encoding
            result: bytes = line[len(head) : -2]
            return result
        reply = orjson.loads(line)
        if isinstance(reply, dict) and "error" in reply:
            error_obj = reply["error"]
            raise RemoteError(str(error_obj.get("reason", "internal")), str(error_obj.get("message", "")))
        return orjson.dumps(reply.get("result") if isinstance(reply, dict) else None)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        with self._lock:
            self._drop()
