"""Typing latency while prefetch is busy: prefetch on vs off (and the pygls floor), one run.

A generated workspace holds directories of one small file each beside large Python
files (``--big-kb`` each) that are the small file's same-directory neighbours and
imports: what the predictor prefetches after a switch to it. Every ``--switch``
seconds the client opens the next directory's small file (a switch: the server
predicts and prefetches that directory's large files, never the same ones twice), and
every 25 ms it types into the open file: a ``didChange`` followed by the cheapest
request, ``smartcache/getFile`` of the open document (answered from the editor's
buffer). Keystrokes are sent on schedule, not after the previous answer, as an editor
does.

Three servers run in the same run, in interleaved blocks of ``--block`` seconds:
smartcache-ls with prefetch on, with prefetch off, and ``bench/floor_server.py``
(``didChange`` + ``floor/noop``). Prints p50/p90/p99/max of the keystroke latency and
how many keystrokes were answered, and the ratios on/off (target: p99 <= 1.2x off,
max <= 50 ms, every keystroke answered).

    .venv/bin/python bench/typing_latency.py [--seconds 30] [--block 5] [--big-kb 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import FLOOR, ROOT, ours, percentile, start, table

from smartcache_ls.paths import path_to_uri
from smartcache_ls.rpc_client import StdioRpcClient

KEYSTROKE = 0.025
BIGS_PER_DIR = 5


def big_module(kb: int, seed: int) -> str:
    out: list[str] = []
    size = 0
    i = 0
    while size < kb * 1024:
        chunk = (
            f"class Model{seed}_{i}:\n"
            f"    '''Generated model {i}.'''\n\n"
            f"    def method_{i}(self, value: int) -> int:\n"
            f"        # comment {i}\n"
            f"        return value * {i} + {seed}\n\n\n"
            f"def helper_{seed}_{i}(x):\n    return [x for _ in range({i % 7})]\n\n\n"
        )
        out.append(chunk)
        size += len(chunk)
        i += 1
    return "".join(out)


def make_workspace(root: Path, dirs: int, kb: int) -> list[Path]:
    small: list[Path] = []
    big_text = [big_module(kb, s) for s in range(BIGS_PER_DIR)]
    for d in range(dirs):
        folder = root / f"pkg{d:03d}"
        folder.mkdir(parents=True)
        for b in range(BIGS_PER_DIR):
            (folder / f"big{b}.py").write_text(f"# dir {d}\n" + big_text[b])
        imports = "".join(f"import big{b}\n" for b in range(BIGS_PER_DIR))
        path = folder / "edit.py"
        path.write_text(imports + "\n\ndef typed():\n    return 0\n")
        small.append(path)
    return small


class Typist:
    """One server and the client side of typing into it."""

    def __init__(self, name: str, client: StdioRpcClient, request: str) -> None:
        self.name = name
        self.client = client
        self.request = request
        self.latencies: list[float] = []
        self.sent = 0
        self.failed = 0
        self.version = 1
        self.uri = ""
        self.text = ""
        self.pending: set[asyncio.Task[None]] = set()

    def switch(self, path: Path) -> None:
        self.uri, self.text = path_to_uri(path), path.read_text()
        self.version = 1
        doc = {"uri": self.uri, "languageId": "python", "version": 1, "text": self.text}
        self.client.notify("textDocument/didOpen", {"textDocument": doc})

    def keystroke(self) -> None:
        self.version += 1
        self.text += "x"
        change = {
            "textDocument": {"uri": self.uri, "version": self.version},
            "contentChanges": [{"text": self.text}],
        }
        params = {"uri": self.uri} if self.request == "smartcache/getFile" else {}
        t0 = time.perf_counter()
        self.client.notify("textDocument/didChange", change)
        self.sent += 1
        task = asyncio.create_task(self._answer(t0, params))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _answer(self, t0: float, params: dict[str, str]) -> None:
        try:
            await self.client.request(self.request, params)
            self.latencies.append(time.perf_counter() - t0)
        except Exception:
            self.failed += 1


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="typing-") as tmp:
        root = Path(os.path.realpath(tmp)) / "ws"
        blocks_per_server = max(1, round(args.seconds / args.block))
        switches_per_block = max(1, round(args.block / args.switch))
        smalls = make_workspace(root, 2 * blocks_per_server * switches_per_block + 2, args.big_kb)
        # room in the top k for the files the model ranks above the large ones (names alike)
        on = {"prefetch": {"enabled": True, "topK": 12, "threshold": 0.0}}
        off = {"prefetch": {"enabled": False}}
        typists = [
            Typist("prefetch on", await start(ours(Path(tmp) / "c-on"), root, on), "smartcache/getFile"),
            Typist("prefetch off", await start(ours(Path(tmp) / "c-off"), root, off), "smartcache/getFile"),
            Typist("pygls floor", await start(FLOOR, root), "floor/noop"),
        ]
        await asyncio.sleep(2.0)  # start-up work (index, workers) settles
        queue = {t.name: list(smalls) for t in typists[:2]}
        queue["pygls floor"] = list(smalls)
        for _ in range(blocks_per_server):
            for typist in typists:
                files = queue[typist.name]
                for _ in range(switches_per_block):
                    typist.switch(files.pop(0))
                    deadline = time.perf_counter() + args.switch
                    tick = time.perf_counter()
                    while tick < deadline:
                        typist.keystroke()
                        tick += KEYSTROKE
                        await asyncio.sleep(max(0.0, tick - time.perf_counter()))
        for typist in typists:  # every keystroke gets its answer, or it counts as unanswered
            if typist.pending:
                await asyncio.wait(set(typist.pending), timeout=10)
        stats = await typists[0].client.request("smartcache/stats", {})
        for typist in typists:
            await typist.client.close()

    rows: list[list[Any]] = []
    for t in typists:
        ms = [x * 1000 for x in t.latencies]
        rows.append(
            [
                t.name,
                percentile(ms, 50),
                percentile(ms, 90),
                percentile(ms, 99),
                max(ms, default=0.0),
                f"{len(ms)}/{t.sent}",
            ]
        )
    print(f"{args.seconds:.0f}s per server in {args.block:.0f}s blocks; a switch every {args.switch}s")
    print(f"cores: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f} (machine shared)")
    print(table(["server", "p50 ms", "p90 ms", "p99 ms", "max ms", "answered"], rows))
    p = stats.get("prefetch", {})
    print(
        f"prefetch (on): submitted {p.get('submitted')}, completed {p.get('completed')},"
        f" superseded {p.get('superseded')}, failed {p.get('failed')}"
    )
    on_row, off_row = rows[0], rows[1]
    print(
        f"on/off: p50 {on_row[1] / off_row[1]:.2f}x, p90 {on_row[2] / off_row[2]:.2f}x,"
        f" p99 {on_row[3] / off_row[3]:.2f}x (target <= 1.2), max {on_row[4]:.1f} ms (target <= 50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="typing time per server")
    parser.add_argument("--block", type=float, default=5.0)
    parser.add_argument("--switch", type=float, default=1.0, help="seconds between file switches")
    parser.add_argument("--big-kb", type=int, default=300)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
