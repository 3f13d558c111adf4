"""The VS Code extension (editor-clients/vscode): type check, bundle, package, and an
end-to-end run in a real VS Code (code-server) driven by Playwright in headless Chromium.

Set-up (once per machine) is editor-clients/vscode/scripts/install-deps.sh: Debian's
chromium, `npm ci` from the lock file, and code-server from ../shared/tools. This test
runs it when something it installs is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXT = REPO / "editor-clients" / "vscode"
ARTIFACTS = REPO / "test-artifacts"
VSIX = EXT / "smartcache-ls.vsix"
CODE_SERVER = Path.home() / ".cache" / "code-server-e2e" / "node_modules" / ".bin" / "code-server"
CHROMIUM = Path("/usr/bin/chromium")
# engines.vscode must admit the VS Code inside code-server 4.99.4.
NEWEST_ENGINE = (1, 99)

COMMANDS = {
    "smartcache.showStatistics": "Show Statistics",
    "smartcache.openPredictedFile": "Open Predicted File",
    "smartcache.clearCache": "Clear Cache",
    "smartcache.restartServer": "Restart Server",
}
SERVER_SETTINGS = [
    "smartcache.maxMemoryMB",
    "smartcache.maxDiskMB",
    "smartcache.ttlSeconds",
    "smartcache.maxFileKB",
    "smartcache.prefetch.enabled",
    "smartcache.prefetch.topK",
    "smartcache.prefetch.threshold",
    "smartcache.prefetch.maxFiles",
    "smartcache.prefetch.maxKB",
    "smartcache.redisUrl",
    "smartcache.shareAnalyses",
    "smartcache.cacheDir",
]


def run(cmd: list[str], timeout: float, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=EXT, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


def _deps_missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append("chromium")
    stamp = EXT / "node_modules" / ".smartcache-lock.sha256"
    want = hashlib.sha256((EXT / "package-lock.json").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != want:
        missing.append("node_modules")
    if not CODE_SERVER.exists():
        missing.append("code-server")
    return missing


@pytest.fixture(scope="module")
def deps() -> None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not on PATH: the VS Code extension needs Node.js 20 and npm")
    missing = _deps_missing()
    if missing:
        run(["bash", str(EXT / "scripts" / "install-deps.sh")], timeout=1500)
        assert _deps_missing() == [], "install-deps.sh left something missing"


@pytest.fixture(scope="module")
def vsix(deps: None) -> Path:
    run(["npm", "run", "--silent", "build"], timeout=120)
    bundle = EXT / "dist" / "extension.js"
    assert bundle.stat().st_size > 10_000
    VSIX.unlink(missing_ok=True)
    run(["npm", "run", "--silent", "package"], timeout=300)
    assert VSIX.exists()
    return VSIX


def test_typescript_checks(deps: None) -> None:
    proc = run(["npm", "run", "--silent", "check"], timeout=300)
    assert "error" not in proc.stdout.lower()


def test_bundle_and_vsix(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("extension/package.json"))
        bundle = z.read("extension/dist/extension.js").decode()
    assert "extension/dist/extension.js" in names
    assert not any(n.startswith("extension/node_modules/") for n in names), "deps are bundled"
    assert not any(n.startswith("extension/src/") for n in names)
    # The client is in the bundle, and the custom methods it calls are the server's.
    for method in ("smartcache/predict", "smartcache/stats", "smartcache/didFocus"):
        assert method in bundle
    match = re.fullmatch(r"\^?(\d+)\.(\d+)\.\d+", manifest["engines"]["vscode"])
    assert match, manifest["engines"]
    assert (int(match[1]), int(match[2])) <= NEWEST_ENGINE
    titles = {c["command"]: c["title"] for c in manifest["contributes"]["commands"]}
    assert titles == COMMANDS
    assert all(c["category"] == "SmartCache" for c in manifest["contributes"]["commands"])
    settings = manifest["contributes"]["configuration"]["properties"]
    for key in [*SERVER_SETTINGS, "smartcache.interpreter"]:
        assert key in settings, key
    # `smartcache-ls mcp` for agent mode: the provider is declared under the id the bundle
    # registers, and the bundle checks for the API first (VS Code 1.101+; older ones log why not)
    providers = manifest["contributes"]["mcpServerDefinitionProviders"]
    assert [p["id"] for p in providers] == ["smartcache.mcpServers"] and providers[0]["label"]
    assert "smartcache.mcpServers" in bundle and "registerMcpServerDefinitionProvider" in bundle
    assert "has no MCP server definition API (1.101+)" in bundle


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_end_to_end_in_code_server(vsix: Path, tmp_path: Path) -> None:
    result_file = tmp_path / "result.json"
    screenshot = ARTIFACTS / "vscode-stats.png"
    env = {
        **os.environ,
        "SMARTCACHE_PYTHON": sys.executable,
        "SMARTCACHE_VSIX": str(vsix),
        "CODE_SERVER": str(CODE_SERVER),
        "SMARTCACHE_ARTIFACTS": str(ARTIFACTS),
        "SMARTCACHE_E2E_RESULT": str(result_file),
    }
    proc = subprocess.run(
        ["node", "e2e/run.mjs"],
        cwd=EXT,
        env=env,
        capture_output=True,
        text=True,
        timeout=330,
        check=False,
    )
    assert result_file.exists(), f"no result file\n{proc.stderr[-4000:]}"
    result = json.loads(result_file.read_text())
    shutil.copyfile(result_file, ARTIFACTS / "vscode-e2e.json")
    assert proc.returncode == 0 and result["ok"], (
        f"e2e failed at {result['step']}: {result['error']}\n"
        + "\n".join(result["log"])
        + "\n(see test-artifacts/vscode-*.log and vscode-failure.png)"
    )
    print(f"VS Code {result['vscodeVersion']} ({result['codeServerVersion']})")

    # The predictor learnt a.py <-> b.py: from a.py, b.py is offered first, and opens.
    assert result["opened"] == ["a.py", "b.py", "a.py", "b.py", "a.py"]
    labels = [item["label"] for item in result["quickPickItems"]]
    assert labels and labels[0] == "b.py", labels
    assert "a.py" not in labels, "the current file is not a prediction"
    assert re.fullmatch(r"\d+%", result["quickPickItems"][0]["description"])
    assert result["firstItem"] == "b.py"
    assert result["openedFile"] == "b.py"
    # The status bar shows the live analysis hit ratio.
    assert re.search(r"SmartCache \d+(\.\d+)?%", result["statusText"]), result["statusText"]
    # The statistics view shows per-tier hit ratios and prefetch accuracy.
    stats = result["statsText"]
    needles = ("SmartCache statistics", "Cache tiers", "Memory", "Hit ratio", "Accuracy", "First visits warm")
    for needle in needles:
        assert needle in stats, (needle, stats)
    assert result["screenshot"] == str(screenshot)
    assert screenshot.stat().st_size > 10_000
    assert _png_size(screenshot) == (1440, 900)
    # It refreshes while open, and a changed setting reaches the running server.
    assert result["statsRefreshed"]["before"] != result["statsRefreshed"]["after"]
    assert "/ 64.0 MB" in result["settingsApplied"], result["settingsApplied"]
    # "SmartCache: Clear Cache" offers the scopes; the memory tier is then empty.
    assert result["clearCache"]["scopes"] == ["Memory tier", "All tiers"]
    assert result["clearCache"]["memoryEntries"] == "0"
    # With smartcache.interpreter set to a Python without smartcache_ls, the extension
    # restarts, says how to install the server, and recovers when the setting is restored.
    missing = result["missingServer"]
    assert missing["status"].startswith("SmartCache problem"), missing
    assert "No module named 'smartcache_ls'" in missing["message"], missing
    assert f"{missing['interpreter']} -m pip install smartcache-ls" in missing["message"], missing
    assert "Install in Terminal" in missing["message"], missing
    assert missing["recovered"] is True
    assert result["restarted"] is True  # "SmartCache: Restart Server"
    # The VS Code it ran in admits our engines.vscode.
    major, minor = (int(x) for x in result["vscodeVersion"].split(".")[:2])
    assert (major, minor) >= (1, 82)
    assert result["seconds"] < 300
