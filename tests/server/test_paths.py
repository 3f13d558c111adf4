from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartcache_ls.paths import (
    PathRefused,
    check_regular_file,
    confine,
    decode_text,
    path_to_uri,
    uri_to_path,
)


def test_uri_round_trip_with_spaces_and_unicode(tmp_path: Path) -> None:
    path = tmp_path / "a dir" / "ünï cödé#1.py"
    assert uri_to_path(path_to_uri(path)) == path


@pytest.mark.parametrize("uri", ["", "http://x/y", "file://remote/etc/passwd", "untitled:Untitled-1"])
def test_bad_uris_are_refused(uri: str) -> None:
    with pytest.raises(PathRefused) as info:
        uri_to_path(uri)
    assert info.value.reason == "badUri"


def test_confine_resolves_dotdot_and_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f.py").write_text("x")
    (tmp_path / "secret.py").write_text("s")
    (root / "inside-link.py").symlink_to(root / "sub" / "f.py")
    (root / "outside-link.py").symlink_to(tmp_path / "secret.py")
    resolved, rel = confine(path_to_uri(root / "sub" / ".." / "sub" / "f.py"), root)
    assert rel == "sub/f.py" and resolved == root / "sub" / "f.py"
    resolved, rel = confine(path_to_uri(root / "inside-link.py"), root)
    assert rel == "inside-link.py" and resolved == root / "sub" / "f.py"
    for bad in (root / ".." / "secret.py", root / "outside-link.py"):
        with pytest.raises(PathRefused) as info:
            confine(path_to_uri(bad), root)
        assert info.value.reason == "outsideWorkspace"


def test_check_regular_file(tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_text("abc")
    (tmp_path / "big.txt").write_text("x" * 2000)
    assert check_regular_file(tmp_path / "small.txt", 1000).st_size == 3
    reasons = []
    for name in ("big.txt", "missing.txt", "."):
        with pytest.raises(PathRefused) as info:
            check_regular_file(tmp_path / name, 1000)
        reasons.append(info.value.reason)
    assert reasons == ["tooLarge", "notFound", "isDirectory"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(PathRefused) as info:
        check_regular_file(fifo, 1000)
    assert info.value.reason == "notRegularFile"


def test_decode_text_refuses_binary() -> None:
    assert decode_text(Path("x"), "héllo".encode()) == "héllo"
    for data in (b"\x00\x01", b"\xff\xfe\xfa"):
        with pytest.raises(PathRefused) as info:
            decode_text(Path("x"), data)
        assert info.value.reason == "binary"


@pytest.mark.parametrize("name", ["a\x00b.py", "\ud800.py"])
def test_a_name_no_file_can_have_is_refused_not_raised(tmp_path: Path, name: str) -> None:
    from smartcache_ls.paths import resolve_path

    with pytest.raises(PathRefused) as info:
        resolve_path(tmp_path / name)
    assert info.value.reason == "badUri"
    with pytest.raises(PathRefused) as info:
        confine(path_to_uri(tmp_path / "ws") + "/" + name, tmp_path / "ws")
    assert info.value.reason == "badUri"
