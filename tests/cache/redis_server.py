"""Start and stop real redis-server processes on free ports, for the Redis tier tests.

Modules that start one mark themselves ``pytestmark = requires_redis_server``; the
``redis_server`` fixture (tests/conftest.py) gives a test its own server."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")

requires_redis_server = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server binary not installed")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(bus: bool = False) -> int:
    """A free port (and, for cluster nodes, port + 10000 free as well)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < 55000 and (not bus or port_free(port + 10000)):
            return port
    raise RuntimeError("no free port")


def ping(port: int, password: str | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            if password:
                s.sendall(f"AUTH {password}\r\n".encode())
                s.recv(64)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server child process (no persistence) that can be killed and restarted."""

    def __init__(self, workdir: Path, port: int | None = None, *extra: str) -> None:
        assert REDIS_SERVER is not None
        self.workdir = workdir
        self.port = port or free_port(bus="--cluster-enabled" in extra)
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.password: str | None = None
        if "--requirepass" in extra:
            self.password = extra[extra.index("--requirepass") + 1]

    def start(self) -> RedisServer:
        assert REDIS_SERVER is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not ping(self.port, self.password):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.kill()


def raw(srv: RedisServer) -> Any:
    """A plain redis-py client of the server, to look at what the tier wrote."""
    import redis

    return redis.Redis(host="127.0.0.1", port=srv.port, password=srv.password)
