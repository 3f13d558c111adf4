"""Shared test helpers: a small sample workspace on disk, and a redis-server of a test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .cache.redis_server import RedisServer

SAMPLE_FILES = {
    "app.py": "import models\nfrom util import helper\n\n\ndef main():\n    return models.Beta().run()\n",
    "models.py": (
        "class Beta:\n"
        "    def run(self):\n"
        "        return 1\n\n"
        "    def stop(self):\n"
        "        return 0\n\n\n"
        "def make_beta():\n"
        "    return Beta()\n"
    ),
    "util.py": "def helper(x):\n    return x * 2\n",
    "test_models.py": "import models\n\n\ndef test_run():\n    assert models.Beta().run() == 1\n",
    "README.txt": "plain text\n\nsecond paragraph\n",
    ".gitignore": "ignored.py\n",
    "ignored.py": "x = 1\n",
}


def make_workspace(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in SAMPLE_FILES.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "data.bin").write_bytes(b"\x00\x01\x02binary")
    (root / "pkg").mkdir(exist_ok=True)
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server on a free port (no persistence), killed after the test; modules using it
    carry ``pytestmark = requires_redis_server``."""
    with RedisServer(tmp_path / "redis") as srv:
        yield srv
