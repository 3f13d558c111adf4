"""The live link on its own: real Unix sockets between threads and processes of this test."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smartcache_ls.mcp.link import LIVE_DIR, Client, Endpoint, LinkError, RemoteError, endpoint_name

OTHER_PYTHON = "/usr/bin/python3"  # runnable by another user (the venv's may sit under /root)


def echo(method: str, params: dict[str, Any]) -> Any:
    if method == "fail":
        raise RemoteError("notFound", "no such file")
    if method == "crash":
        raise RuntimeError("boom")
    return {"method": method, "params": params, "pid": os.getpid()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


def test_request_response_errors_and_a_long_cache_dir(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / ("c" * 120) / "cache"  # far past sun_path's 108 bytes
    endpoint = Endpoint(cache, root, echo)
    client = Client(cache, root)
    try:
        assert client.call("outline", {"path": "a.py"}) == {
            "method": "outline",
            "params": {"path": "a.py"},
            "pid": os.getpid(),
        }
        with pytest.raises(RemoteError) as refused:
            client.call("fail", {})
        assert refused.value.reason == "notFound"
        with pytest.raises(RemoteError) as crashed:
            client.call("crash", {})
        assert crashed.value.reason == "internal" and "boom" not in crashed.value.message
        assert client.call("again", {})["method"] == "again"  # the connection survives errors
    finally:
        client.close()
        endpoint.close()
    assert not (cache / LIVE_DIR / endpoint_name(root)).exists()
    with pytest.raises(LinkError):
        Client(cache, root).call("outline", {})


def test_stale_endpoint_is_removed_by_the_client_and_replaced_by_a_server(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "cache"
    live = cache / LIVE_DIR
    live.mkdir(parents=True, mode=0o700)
    path = live / endpoint_name(root)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # bound, never listening, never unlinked: what a killed server leaves
    dead.close()
    assert stat.S_ISSOCK(path.lstat().st_mode)
    with pytest.raises(LinkError, match="stale"):
        Client(cache, root).call("outline", {})
    assert not path.exists()

    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()
    endpoint = Endpoint(cache, root, echo)
    try:
        assert Client(cache, root).call("x", {})["method"] == "x"
    finally:
        endpoint.close()


def test_an_editor_that_does_not_answer_is_left_alone_for_a_while(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "cache"
    release = threading.Event()
    endpoint = Endpoint(cache, root, lambda m, p: release.wait(10))
    client = Client(cache, root, timeout=0.3)
    try:
        with pytest.raises(LinkError, match="did not answer within"):
            client.call("slow", {})
        t0 = time.monotonic()
        with pytest.raises(LinkError, match="lately"):
            client.call("slow", {})
        assert time.monotonic() - t0 < 0.1  # no second wait on a stopped editor
    finally:
        release.set()
        endpoint.close()


def test_a_second_editor_takes_the_endpoint_over(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "cache"
    first = Endpoint(cache, root, lambda m, p: "first")
    second = Endpoint(cache, root, lambda m, p: "second")
    try:
        assert Client(cache, root).call("x", {}) == "second"
        first.close()  # must not remove the endpoint the second one owns
        assert Client(cache, root).call("x", {}) == "second"
    finally:
        second.close()


def test_a_shared_or_foreign_live_dir_is_refused(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "cache"
    (cache / LIVE_DIR).mkdir(parents=True)
    os.chmod(cache / LIVE_DIR, 0o777)
    with pytest.raises(LinkError, match="private"):
        Endpoint(cache, root, echo)
    with pytest.raises(LinkError, match="private"):
        Client(cache, root).call("x", {})


def test_a_symlinked_live_dir_is_refused(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    os.symlink(elsewhere, cache / LIVE_DIR)
    with pytest.raises(LinkError):
        Endpoint(cache, root, echo)


@pytest.mark.skipif(os.geteuid() != 0 or not os.access(OTHER_PYTHON, os.X_OK), reason="needs root")
def test_another_users_connection_is_refused(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "cache"
    endpoint = Endpoint(cache, root, echo)
    live = cache / LIVE_DIR
    dir_fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # Open the way on purpose (as a misconfigured system might): the peer uid check still holds.
        # The other user reaches the directory through an inherited descriptor, not its parents.
        os.chmod(live, 0o755)
        os.chmod(live / endpoint_name(root), 0o777)
        script = textwrap.dedent(f"""
            import socket
            s = socket.socket(socket.AF_UNIX)
            s.connect("/proc/self/fd/{dir_fd}/{endpoint_name(root)}")
            try:
                s.sendall(b'{{"id": 1, "method": "x", "params": {{}}}}\\n')
                print(repr(s.recv(1000)))
            except OSError:
                print(repr(b""))
        """)
        out = subprocess.run(
            [OTHER_PYTHON, "-c", script],
            user=65534,
            pass_fds=(dir_fd,),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert out.stdout.strip() == "b''"  # connected, then closed unanswered
        os.chmod(live, 0o700)
        assert Client(cache, root).call("x", {})["method"] == "x"  # and the owner is still served
    finally:
        os.close(dir_fd)
        endpoint.close()
