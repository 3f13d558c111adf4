"""Opening a folder runs nothing its git repository names (gpg.program, fsmonitor, pagers, diff
drivers, aliases, includes), and its co-change history still loads."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartcache_ls.paths import path_to_uri
from smartcache_ls.predict.cochange import read_git_cochange
from smartcache_ls.rpc_client import StdioRpcClient

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

CLEAN_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=CLEAN_ENV)


def script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def hostile_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with signed commits whose config (and an included file) names a program for
    every hook git offers; each program would leave a file in the marker directory."""
    root = tmp_path / "repo"
    markers = tmp_path / "markers"
    root.mkdir()
    markers.mkdir()
    git(root, "init", "-q")
    # A stand-in signer so that the history really holds signed commits (what makes
    # log.showSignature call gpg.program when git log runs).
    signer = script(
        tmp_path / "signer.sh",
        'cat >/dev/null\necho "[GNUPG:] SIG_CREATED D 1 8 00 1 0" >&2\n'
        'printf -- "-----BEGIN PGP SIGNATURE-----\\n\\nAAAA\\n-----END PGP SIGNATURE-----\\n"\n',
    )
    for n, files in enumerate([["a.py", "b.py"], ["a.py", "b.py", "c.py"], ["c.py"], ["a.py", "b.py"]]):
        for name in files:
            (root / name).write_text(f"# {n}\n")
        git(root, "add", *files)
        git(root, "-c", f"gpg.program={signer}", "commit", "-q", "-S", "-m", f"c{n}")

    evil = {
        name: script(tmp_path / f"{name}.sh", f'cat >/dev/null 2>&1; touch "{markers}/{name}"\n')
        for name in ("gpg", "fsmonitor", "pager", "external", "textconv", "alias", "included", "hook")
    }
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "post-index-change", "reference-transaction", "pre-auto-gc"):
        shutil.copy(evil["hook"], hooks / hook)
    included = tmp_path / "included.cfg"
    included.write_text(
        f'[gpg]\n\tprogram = {evil["included"]}\n[core]\n\tfsmonitor = {evil["included"]}\n'
        f'[log]\n\tshowSignature = true\n[diff]\n\texternal = {evil["included"]}\n'
    )
    with open(root / ".git" / "config", "a") as config:
        config.write(
            f"[log]\n\tshowSignature = true\n"
            f"[gpg]\n\tprogram = {evil['gpg']}\n"
            f"[gpg \"ssh\"]\n\tprogram = {evil['gpg']}\n"
            f"[core]\n\tfsmonitor = {evil['fsmonitor']}\n\tpager = {evil['pager']}\n"
            f"\thooksPath = {hooks}\n"
            f"[pager]\n\tlog = {evil['pager']}\n"
            f"[diff]\n\texternal = {evil['external']}\n"
            f"[diff \"evil\"]\n\ttextconv = {evil['textconv']}\n"
            f"[alias]\n\tlog = !{evil['alias']}\n"
            f"[include]\n\tpath = {included}\n"
            f"[includeIf \"gitdir:{root}/\"]\n\tpath = {included}\n"
        )
    (root / ".gitattributes").write_text("* diff=evil\n")
    return root, markers


def test_git_log_runs_no_program_the_repository_names(tmp_path: Path) -> None:
    root, markers = hostile_repo(tmp_path)
    history = read_git_cochange(root)
    assert sorted(map(sorted, history)) == sorted(
        [["a.py", "b.py"], ["a.py", "b.py", "c.py"], ["c.py"], ["a.py", "b.py"]]
    )
    assert sorted(os.listdir(markers)) == []
    # The repository really is hostile: plain git obeys it (the test would catch a regression).
    subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%H"], capture_output=True, env=CLEAN_ENV, check=False
    )
    assert "gpg" in os.listdir(markers) or "included" in os.listdir(markers)


async def _index_through_a_server(root: Path, cache: Path) -> tuple[dict[str, object], list[object]]:
    client = await StdioRpcClient.start(sys.executable, "-m", "smartcache_ls", "--cache-dir", str(cache))
    try:
        uri = path_to_uri(root)
        await client.request(
            "initialize",
            {"processId": os.getpid(), "capabilities": {}, "rootUri": uri,
             "workspaceFolders": [{"uri": uri, "name": "repo"}]},
        )
        client.notify("initialized", {})
        deadline = time.monotonic() + 20
        index: dict[str, object] = {}
        while time.monotonic() < deadline:
            stats = await client.request("smartcache/stats", {})
            index = stats["workspaces"][0]["index"]
            if index["state"] == "ready":
                break
            await asyncio.sleep(0.05)
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": path_to_uri(root / "a.py"), "languageId": "python", "version": 1,
                              "text": (root / "a.py").read_text()}},
        )
        ranked = await client.request("smartcache/predict", {"uri": path_to_uri(root / "a.py"), "k": 3})
        await client.request("shutdown", None)
        client.notify("exit", None)
        return index, ranked
    finally:
        await client.close()


async def test_opening_a_hostile_repository_runs_nothing_and_loads_cochange(tmp_path: Path) -> None:
    root, markers = hostile_repo(tmp_path)
    index, ranked = await _index_through_a_server(root, tmp_path / "cache")
    assert index["state"] == "ready" and index["commits"] == 4
    assert os.listdir(markers) == []
    assert ranked and ranked[0]["uri"] == path_to_uri(root / "b.py")  # type: ignore[index]
    assert "changed with a.py in 3 commits" in ranked[0]["reason"]  # type: ignore[index]


def test_a_git_blocked_on_a_fifo_is_killed_at_the_timeout(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "a.py").write_text("x\n")
    git(root, "add", "a.py")
    git(root, "commit", "-q", "-m", "one")
    (root / ".git" / "HEAD").unlink()
    os.mkfifo(root / ".git" / "HEAD")  # git opens it to find the branch, and waits for a writer
    t0 = time.monotonic()
    assert read_git_cochange(root, timeout=1.0) == []
    assert time.monotonic() - t0 < 5
