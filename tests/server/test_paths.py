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


def _tree(tmp_path: Path) -> list[Path]:
    """Paths through symlinked files and folders, '..' after a symlink, missing paths, a symlink
    loop, a FIFO (never opened for reading), a dangling link, the folder itself."""
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "sub" / "f.py").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    (tmp_path / "real" / "filelink.py").symlink_to(tmp_path / "real" / "sub" / "f.py")
    (tmp_path / "real" / "dangling.py").symlink_to(tmp_path / "real" / "gone.py")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    os.mkfifo(tmp_path / "real" / "fifo")
    return [
        tmp_path / "real" / "sub" / "f.py",
        tmp_path / "link" / "f.py",
        tmp_path / "real" / "filelink.py",
        tmp_path / "link" / ".." / "filelink.py",
        tmp_path / "link" / "missing.py",
        tmp_path / "missing" / "deeper.py",
        tmp_path / "real" / "dangling.py",
        tmp_path / "loop",
        tmp_path / "real" / "fifo",
        tmp_path / "real",
    ]


def test_resolve_path_is_realpath(tmp_path: Path) -> None:
    """The kernel's answer (an O_PATH open, its /proc/self/fd link) is realpath's, wherever it
    has one; realpath answers the rest."""
    from smartcache_ls.paths import _kernel_real_path, resolve_path

    tmp_path = Path(os.path.realpath(tmp_path))
    answered = 0
    for p in _tree(tmp_path):
        assert resolve_path(p) == Path(os.path.realpath(p)), p
        answered += _kernel_real_path(p) is not None
    assert answered == 6  # the four files (links followed), the FIFO, the folder


def test_confine_answers_alike_with_and_without_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smartcache_ls.paths as paths

    tmp_path = Path(os.path.realpath(tmp_path))
    uris = [path_to_uri(p) for p in _tree(tmp_path)]
    (tmp_path / "real" / ".env").write_text("TOKEN=1\n")
    (tmp_path / "real" / "env-link").symlink_to(tmp_path / "real" / ".env")
    uris += [path_to_uri(tmp_path / "real" / n) for n in (".env", "env-link")]
    uris += [path_to_uri(tmp_path / "real" / "sub" / ".." / ".." / "link" / "f.py")]

    def answers() -> list[object]:
        out: list[object] = []
        for uri in uris:
            try:
                out.append(confine(uri, tmp_path / "real"))
            except PathRefused as exc:
                out.append((exc.reason, exc.message))
        return out

    fast = answers()
    for uri, answer in zip(uris, fast, strict=True):  # confine_path: the same, from the path
        if isinstance(answer[0], Path):  # type: ignore[index]
            assert paths.confine_path(paths.uri_to_path(uri), tmp_path / "real") == answer
    monkeypatch.setattr(paths, "_kernel_real_path", lambda path: None)
    assert answers() == fast
    assert fast[0] == (tmp_path / "real" / "sub" / "f.py", "sub/f.py")
    assert fast[2] == (tmp_path / "real" / "sub" / "f.py", "filelink.py")
    f_py = (tmp_path / "real" / "sub" / "f.py", "sub/f.py")
    assert fast[:3] == [f_py, f_py, (f_py[0], "filelink.py")] and fast[-1] == f_py
    assert fast[8] == (tmp_path / "real" / "fifo", "fifo")
    reasons = [a[0] for a in fast if isinstance(a[0], str)]  # type: ignore[index]
    assert reasons == ["outsideWorkspace"] * 3 + ["isDirectory", "secret", "secret"]
