"""The checked reader: regular files inside the root only, opened once, never waited on."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from smartcache_ls import reader
from smartcache_ls.paths import PathRefused
from smartcache_ls.reader import open_checked, read_checked, read_optional_text


def refused(call: Callable[[], object]) -> str:
    with pytest.raises(PathRefused) as info:
        call()
    return info.value.reason


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "sub" / "f.py").write_text("INSIDE\n")
    (tmp_path / "outside.py").write_text("OUTSIDE\n")
    return ws


def test_reads_a_regular_file_and_follows_symlinks_inside(root: Path) -> None:
    (root / "link.py").symlink_to(root / "sub" / "f.py")
    (root / "dirlink").symlink_to(root / "sub", target_is_directory=True)
    for path in (root / "sub" / "f.py", root / "link.py", root / "dirlink" / "f.py"):
        data, st = read_checked(path, root, 100)
        assert data == b"INSIDE\n" and st.st_size == 7


def test_refuses_what_is_not_a_regular_file_inside(root: Path, tmp_path: Path) -> None:
    (root / "out.py").symlink_to(tmp_path / "outside.py")
    (root / "zero").symlink_to("/dev/zero")
    os.mkfifo(root / "fifo")
    (root / "big.py").write_bytes(b"x" * 101)
    assert refused(lambda: read_checked(root / "out.py", root, 100)) == "outsideWorkspace"
    assert refused(lambda: read_checked(root / ".." / "outside.py", root, 100)) == "outsideWorkspace"
    assert refused(lambda: read_checked(root / "zero", root, 100)) == "outsideWorkspace"
    assert refused(lambda: read_checked(root / "sub", root, 100)) == "isDirectory"
    assert refused(lambda: read_checked(root, root, 100)) == "isDirectory"
    assert refused(lambda: read_checked(root / "missing", root, 100)) == "notFound"
    assert refused(lambda: read_checked(root / "big.py", root, 100)) == "tooLarge"
    started = time.monotonic()
    assert refused(lambda: read_checked(root / "fifo", root, 100)) == "notRegularFile"
    assert time.monotonic() - started < 1  # opened non-blocking: no writer is waited for


def test_a_sparse_file_larger_than_the_bound_is_not_read(root: Path) -> None:
    with open(root / "sparse", "wb") as fh:
        fh.truncate(8 << 30)  # 8 GiB of nothing
    started = time.monotonic()
    assert refused(lambda: read_checked(root / "sparse", root, 1 << 20)) == "tooLarge"
    assert time.monotonic() - started < 1


def test_a_directory_swapped_after_resolving_is_never_opened_through(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the reader exists for, made deterministic: ``sub`` becomes a symlink to a
    folder outside between resolving the path (through an inside link, ``via``) and opening
    it. The walk down from the root refuses the symlink before anything outside is opened
    (here: a FIFO whose opening would release a writer blocked on it)."""
    (root / "via").symlink_to(root / "sub", target_is_directory=True)
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "f.py")
    writer_released = threading.Event()

    def writer() -> None:
        fd = os.open(out / "f.py", os.O_WRONLY)  # blocks until someone opens it for reading
        writer_released.set()
        os.close(fd)

    real_resolve = reader.resolve_path

    def resolve_then_swap(path: Path | str) -> Path:
        resolved = real_resolve(path)
        assert resolved == root / "sub" / "f.py"  # resolved while nothing was swapped yet
        if (root / "sub").is_dir() and not (root / "sub").is_symlink():
            os.rename(root / "sub", root / "sub.real")
            (root / "sub").symlink_to(out, target_is_directory=True)
        return resolved

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    monkeypatch.setattr(reader, "resolve_path", resolve_then_swap)
    assert refused(lambda: open_checked(root / "via" / "f.py", root, 100)) == "symlinkRace"
    monkeypatch.undo()
    assert not writer_released.wait(0.3), "the reader opened the FIFO outside the root"
    fd = os.open(out / "f.py", os.O_RDONLY | os.O_NONBLOCK)  # release the writer thread
    thread.join(5)
    os.close(fd)


def test_a_file_swapped_for_a_symlink_after_resolving_is_refused(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "via.py").symlink_to(root / "sub" / "f.py")
    real_resolve = reader.resolve_path

    def resolve_then_swap(path: Path | str) -> Path:
        resolved = real_resolve(path)
        target = root / "sub" / "f.py"
        assert resolved == target  # resolved while nothing was swapped yet
        if not target.is_symlink():
            target.unlink()
            target.symlink_to(tmp_path / "outside.py")
        return resolved

    monkeypatch.setattr(reader, "resolve_path", resolve_then_swap)
    assert refused(lambda: read_checked(root / "via.py", root, 100)) == "symlinkRace"


def test_optional_text_is_none_for_anything_refused(root: Path) -> None:
    (root / "go.mod").write_text("module example.com/x\n")
    os.mkfifo(root / "fifo.mod")
    (root / "zero.mod").symlink_to("/dev/zero")
    assert read_optional_text(root / "go.mod", root, 100) == "module example.com/x\n"
    for name in ("fifo.mod", "zero.mod", "missing.mod"):
        assert read_optional_text(root / name, root, 100) is None
    assert read_optional_text(root / "go.mod", root, 5) is None
