"""Private cache directories: created 0700 whatever the umask, refused when others could
reach into them, our files tightened, a foreign file in them refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from smartcache_ls.cache.private import (
    UnsafeCacheDir,
    check_private_dir,
    create_private_file,
    usable_cache_dir,
)

OWNED = ("cache.sqlite3",)
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="files of another user need root")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_created_0700_and_0600_under_any_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        check_private_dir(tmp_path / "a" / "b", OWNED)
        create_private_file(tmp_path / "a" / "b" / "cache.sqlite3")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
    assert mode(tmp_path / "a" / "b" / "cache.sqlite3") == 0o600


def test_group_writable_refused_and_a_session_dir_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o770)
    with pytest.raises(UnsafeCacheDir, match="writable by other users"):
        check_private_dir(shared, OWNED)
    used, refused = usable_cache_dir(shared, OWNED)
    assert refused and "writable by other users" in refused and used != shared
    assert mode(used) == 0o700 and used.stat().st_uid == os.geteuid()
    used.rmdir()


def test_a_symlink_is_judged_by_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    os.chmod(target, 0o777)
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(UnsafeCacheDir):
        check_private_dir(tmp_path / "link", OWNED)
    os.chmod(target, 0o700)
    assert check_private_dir(tmp_path / "link", OWNED) == target


def test_readable_dir_tightened_only_when_it_holds_only_our_files(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o755)
    os.chmod(ours, 0o755)
    (ours / "cache.sqlite3").write_bytes(b"")
    os.chmod(ours / "cache.sqlite3", 0o644)
    check_private_dir(ours, OWNED)
    assert mode(ours) == 0o700 and mode(ours / "cache.sqlite3") == 0o600
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    os.chmod(mixed, 0o755)
    (mixed / "notes.txt").write_text("the user's")
    check_private_dir(mixed, OWNED)
    assert mode(mixed) == 0o755  # not ours alone: left as it is (our files in it are 0600)


@root_only
def test_a_cache_file_of_another_user_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    planted = cache / "cache.sqlite3-wal"
    planted.write_bytes(b"")
    os.chown(planted, 65534, 65534)
    with pytest.raises(UnsafeCacheDir, match="owned by uid 65534"):
        check_private_dir(cache, OWNED)


def test_the_live_link_directory_counts_as_ours(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "live").mkdir(parents=True, mode=0o700)
    os.chmod(cache, 0o755)
    check_private_dir(cache, OWNED, ("live",))
    assert mode(cache) == 0o700
