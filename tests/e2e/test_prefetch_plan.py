"""Prefetch as a budgeted decision, and its statistics, through a real server process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

from smartcache_ls.paths import path_to_uri

from .test_lsp import close_doc, request, start, stop

N = 12  # files the hub refers to


def hub_tree(root: Path) -> Path:
    pkg = root / "src" / "app"
    pkg.mkdir(parents=True)
    for i in range(N):
        # sizes differ, so that a byte budget picks some and not others
        (pkg / f"Part{i}.java").write_text(
            f"package app;\n\npublic class Part{i} {{\n" + "  int x;\n" * (i * 20) + "}\n"
        )
    fields = "".join(f"  Part{i} p{i};\n" for i in range(N))
    (pkg / "Hub.java").write_text(f"package app;\n\npublic class Hub {{\n{fields}}}\n")
    return root


async def settle(client: Any) -> dict[str, Any]:
    for _ in range(200):
        stats = await request(client, "smartcache/stats", {})
        if (
            stats["graph"]["files"] == N + 1
            and not stats["graph"]["queued"]
            and not stats["prefetch"]["queued"]
        ):
            await asyncio.sleep(0.2)
            stats = await request(client, "smartcache/stats", {})
            if not stats["prefetch"]["queued"]:
                return stats
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not settle")


def open_file(client: Any, path: Path) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri=path_to_uri(path), language_id="java", version=1, text=path.read_text()
            )
        )
    )


async def test_the_budget_bounds_each_switch_and_first_visits_are_served_warm(tmp_path: Path) -> None:
    root = hub_tree(tmp_path / "ws")
    client = await start(root, tmp_path / "cache", prefetch={"maxFiles": 4})
    try:
        await settle(client)
        open_file(client, root / "src/app/Hub.java")
        stats = await settle(client)
        prefetch = stats["prefetch"]
        assert prefetch["prefetchedFiles"] == 4 and prefetch["filesPerSwitchMax"] == 4
        # the largest files first: probability x cost, all of the same probability here
        warm = []
        for i in range(N):
            uri = path_to_uri(root / f"src/app/Part{i}.java")
            open_file(client, root / f"src/app/Part{i}.java")
            result = await request(client, "smartcache/getAnalysis", {"uri": uri})
            warm.append(result["source"] == "memory")
            close_doc(client, root / f"src/app/Part{i}.java")
            await settle(client)
        assert warm[-4:] == [True] * 4  # the four largest were prefetched at the first switch
        prefetch = (await request(client, "smartcache/stats", {}))["prefetch"]
        assert prefetch["firstVisits"] == N and prefetch["firstVisitsWarm"] == sum(warm)
        assert prefetch["filesPerSwitchMax"] <= 4
        assert 0 < prefetch["precision"] <= 1 and prefetch["usedFiles"] >= 4
        assert prefetch["leadTimeP95"] >= prefetch["leadTimeP50"] > 0
        for key in ("wastedBytes", "wastedCpuSeconds", "cpuPerSwitchP95", "filesPerSwitchP95"):
            assert prefetch[key] >= 0
    finally:
        await stop(client)


async def test_a_byte_budget_skips_what_does_not_fit(tmp_path: Path) -> None:
    root = hub_tree(tmp_path / "ws")
    client = await start(root, tmp_path / "cache", prefetch={"maxFiles": 64, "maxKB": 1})
    try:
        await settle(client)
        open_file(client, root / "src/app/Hub.java")
        prefetch = (await settle(client))["prefetch"]
        sizes = sorted((root / f"src/app/Part{i}.java").stat().st_size for i in range(N))
        fit = max(n for n in range(N + 1) if sum(sizes[:n]) <= 1024)  # the small files that fit 1 KB
        assert 0 < prefetch["prefetchedFiles"] <= fit < N
    finally:
        await stop(client)
