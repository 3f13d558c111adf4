"""The demo job: a recorded session replayed against real server processes."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import run_cli


def test_replay_runs_both_modes_on_the_embedded_trace() -> None:
    # (a think time above the engine's quiet period: background work waits for the editor to pause)
    out = run_cli("replay", "--limit", "40", "--think-ms", "100", "--json", timeout=180)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    on, off = data["results"]
    assert on["prefetch"] is True and off["prefetch"] is False
    assert on["opens"] == off["opens"] > 20
    assert sum(on["sources"].values()) == on["opens"]
    assert off["prefetchIssued"] == 0 and on["prefetchIssued"] >= 1
    for result in (on, off):
        assert 0 < result["hitRate"] < 1  # revisits hit, first visits cannot all hit
        assert 0 < result["p50ms"] <= result["p99ms"]
        assert result["memoryBytes"] > 0


def test_replay_refuses_a_bad_trace(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 1, "session": "s", "event": "open"}\n')
    out = run_cli("replay", str(bad), "--workspace", str(tmp_path), timeout=60)
    assert out.returncode == 2 and "path" in out.stderr
