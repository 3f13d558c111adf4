"""End to end: the Neovim plugin (editor-clients/neovim) driving the real server.

A headless Neovim (``nvim --headless -u driver.lua``; 0.7.2 has no ``nvim -l``)
loads the plugin, opens files of a sample workspace in a fixed order, and then
checks from inside Neovim what a user would see: ``smartcache/predict``,
``:SmartCacheStats``, ``:checkhealth smartcache``, ``:SmartCachePredict`` and
``:SmartCacheClear``. The Lua driver writes what it saw as JSON to the file
named by ``$SMARTCACHE_NVIM_RESULT``; the assertions are made here.

If ``nvim`` is missing the test installs it with the plugin's own
``scripts/install-deps.sh`` (Debian's package) instead of skipping.
``SMARTCACHE_TEST_NVIM=/path/to/nvim`` runs the tests against another build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "editor-clients" / "neovim"
INSTALL_SCRIPT = PLUGIN_DIR / "scripts" / "install-deps.sh"
SERVER_CMD = [sys.executable, "-m", "smartcache_ls"]
NVIM_TIMEOUT = 120
# report lines: "- OK: msg" (0.7-0.9), "- OK msg" (0.10), "- ✅ OK msg" (0.11+)
OK = r"\s*- (?:\S+ )?OK:? "
ERROR = r"\s*- (?:\S+ )?ERROR:? "
HELP_TAGS = [
    "smartcache",
    "smartcache.setup()",
    ":SmartCacheStats",
    ":SmartCachePredict",
    ":SmartCacheClear",
    "smartcache-health",
    "smartcache-settings-keys",
]

# Access order: after a.py came b.py three times and c.py once (c most recently).
SEQUENCE = ["a.py", "b.py", "a.py", "b.py", "a.py", "b.py", "a.py", "c.py", "a.py"]

WORKSPACE_FILES = {
    "a.py": "def alpha():\n    return 'a'\n",
    "b.py": "def beta():\n    return 'b'\n",
    "c.py": "def gamma():\n    return 'c'\n",
    "d.py": "def delta():\n    return 'd'\n",
    # never opened, unrelated to the others (so never prefetched): read through smartcache/getFile
    "notes/todo.txt": "def delta():\n    return 'd'\n",
}

DRIVER = r"""
local config_lines = vim.fn.readfile(os.getenv("SMARTCACHE_NVIM_CONFIG"))
local cfg = vim.fn.json_decode(table.concat(config_lines, "\n"))
local result_path = os.getenv("SMARTCACHE_NVIM_RESULT")
vim.opt.runtimepath:prepend(cfg.plugin_dir)

local R = { steps = {}, version = vim.version(), has_commands = {} }

local function write_result()
  vim.fn.writefile({ vim.fn.json_encode(R) }, result_path)
end

local function step(name)
  table.insert(R.steps, name)
end

local function wait(ms, cond, what)
  if not vim.wait(ms, cond, 20) then
    error("timed out after " .. ms .. " ms waiting for " .. what, 0)
  end
end

local function rel(path)
  local root = cfg.workspace .. "/"
  if path:sub(1, #root) == root then
    return path:sub(#root + 1)
  end
  return path
end

local function edit(name)
  vim.cmd("edit " .. vim.fn.fnameescape(cfg.workspace .. "/" .. name))
end

local function current_name()
  return rel(vim.api.nvim_buf_get_name(0))
end

local function floats()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      table.insert(out, win)
    end
  end
  return out
end

local function health(label)
  vim.cmd("checkhealth smartcache")
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  R.health = R.health or {}
  R.health[label] = lines
  vim.cmd("tabclose")
end

-- one request through vim.lsp.buf_request_sync; returns the smartcache client's answer
local function request_sync(method, params, bufnr)
  local answers, err = vim.lsp.buf_request_sync(bufnr or 0, method, params, 10000)
  if not answers then
    error(method .. ": " .. tostring(err), 0)
  end
  for id, answer in pairs(answers) do
    local client = vim.lsp.get_client_by_id(id)
    if client and client.name == "smartcache" then
      if answer.err or answer.error then
        error(method .. " failed: " .. vim.inspect(answer.err or answer.error), 0)
      end
      return answer.result
    end
  end
  error(method .. ": no answer from the smartcache client", 0)
end

local function predictions(result)
  local out = {}
  for _, item in ipairs(result or {}) do
    table.insert(out, {
      path = rel(vim.uri_to_fname(item.uri)),
      probability = item.probability,
      reason = item.reason,
    })
  end
  return out
end

local function stop_clients(sc)
  for _, client in ipairs(sc.clients()) do
    if vim.fn.has("nvim-0.11") == 1 then client:stop() else client.stop() end
  end
  R.clients_stopped = vim.wait(10000, function() return #sc.clients() == 0 end, 50)
end

local function main_scenario()
  local sc = require("smartcache")
  sc.setup({ cmd = cfg.cmd, settings = cfg.settings })
  R.mode = sc._mode
  for _, name in ipairs({ "SmartCacheStats", "SmartCachePredict", "SmartCacheClear" }) do
    R.has_commands[name] = vim.fn.exists(":" .. name) == 2
  end

  -- the first file starts the server; wait until it is initialized and attached
  edit(cfg.sequence[1])
  local first = vim.api.nvim_get_current_buf()
  wait(30000, function() return #sc.clients(first) > 0 end, "the smartcache client to attach")
  R.client_root = sc.clients(first)[1].config.root_dir
  step("attached")
  for i = 2, #cfg.sequence do
    edit(cfg.sequence[i])
    vim.wait(20)
  end
  R.attached = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if #sc.clients(buf) > 0 then
      table.insert(R.attached, rel(vim.api.nvim_buf_get_name(buf)))
    end
  end
  R.current_after_sequence = current_name()
  step("sequence")

  local buf = vim.api.nvim_get_current_buf()
  local from_a = { uri = vim.uri_from_bufnr(buf), k = 5 }
  R.predict_uri = predictions(request_sync("smartcache/predict", from_a, buf))
  R.predict_default = predictions(request_sync("smartcache/predict", vim.empty_dict(), buf))
  step("predict")

  -- reads through the cache: an open file (the editor's copy),
  -- a closed one twice (disk, then a cache tier)
  local function get_file(name)
    local uri = vim.uri_from_fname(cfg.workspace .. "/" .. name)
    local answer = request_sync("smartcache/getFile", { uri = uri }, buf)
    return { source = answer.source, text = answer.text }
  end
  local todo = "notes/todo.txt"
  R.get_file = { open = get_file("b.py"), first = get_file(todo), second = get_file(todo) }
  R.raw_stats = request_sync("smartcache/stats", vim.empty_dict(), buf)

  vim.cmd("SmartCacheStats")
  wait(10000, function() return #floats() > 0 end, "the :SmartCacheStats window")
  local win = floats()[1]
  R.stats_lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
  vim.api.nvim_win_close(win, true)
  step("stats")

  health("main")
  step("health")

  -- :SmartCachePredict from a.py; the overridden vim.ui.select picks the first item
  edit("a.py")
  R.select_from = current_name()
  local picked = false
  vim.ui.select = function(items, opts, on_choice)
    R.select_items = {}
    for _, item in ipairs(items) do
      table.insert(R.select_items, opts.format_item and opts.format_item(item) or tostring(item))
    end
    R.select_prompt = opts.prompt
    picked = true
    on_choice(items[1], 1)
  end
  vim.cmd("SmartCachePredict")
  wait(10000, function() return picked end, "vim.ui.select to be called")
  wait(5000, function() return current_name() ~= "a.py" end, "the chosen file to open")
  R.after_select = current_name()
  step("select")

  local messages = {}
  vim.notify = function(msg, level)
    table.insert(messages, { msg = msg, level = level })
  end
  vim.cmd("SmartCacheClear all")
  wait(10000, function() return #messages > 0 end, "the :SmartCacheClear answer")
  R.clear_messages = messages
  step("clear")

  -- setup() again: the running server gets the new settings, no second server starts
  sc.setup({ cmd = cfg.cmd, settings = { maxMemoryMB = 128 } })
  vim.wait(200)
  R.clients_after_resetup = #sc.clients()
  local after = request_sync("smartcache/stats", vim.empty_dict(), vim.api.nvim_get_current_buf())
  R.memory_max_after_resetup = after.tiers.memory.maxBytes
  step("resetup")

  stop_clients(sc)
end

local function help_scenario()
  -- the help file indexes (a copy of doc/ in a temporary runtime dir) and its tags resolve
  vim.opt.runtimepath:append(cfg.doc_runtime)
  vim.cmd("helptags " .. vim.fn.fnameescape(cfg.doc_runtime .. "/doc"))
  R.help = {}
  for _, tag in ipairs(cfg.help_tags) do
    local ok = pcall(vim.cmd, "help " .. tag)
    R.help[tag] = ok and vim.fn.expand("%:t") or false
    if ok then
      vim.cmd("helpclose")
    end
  end
end

local function config_scenario()
  -- root detection, filters and settings mapping, with autocommands off so nothing starts
  local sc = require("smartcache")
  vim.o.eventignore = "all"
  local function load(path, filetype)
    local buf = vim.fn.bufadd(path)
    vim.fn.bufload(buf)
    vim.bo[buf].filetype = filetype
    return buf
  end
  local inside = load(cfg.workspace .. "/pkg/mod.py", "python")
  local outside = load(cfg.outside, "python")
  local C = {}
  local function roots(label, opts)
    sc.setup(vim.tbl_extend("force", { cmd = cfg.cmd }, opts))
    C[label] = { inside = sc.root_for(inside) or false, outside = sc.root_for(outside) or false }
  end
  roots("default", {})
  roots("markers", { root_markers = { "no-such-marker" } })
  roots("root_dir", { root_dir = cfg.workspace .. "/pkg" })
  roots("root_fn", { root_dir = function(path) return vim.fn.fnamemodify(path, ":h") end })
  roots("ft_lua", { filetypes = { "lua" } })
  roots("ft_python", { filetypes = { "python" } })
  sc.setup({ cmd = cfg.cmd, settings = { prefetch = {}, maxMemoryMB = 64 }, cache_dir = cfg.cache })
  C.init_options = vim.json.encode(sc.init_options())
  sc.setup({ cmd = cfg.cmd })
  C.empty_options = vim.json.encode(sc.init_options())
  local ok, err = pcall(sc.setup, { cmd = {} })
  C.bad_cmd = ok and "accepted" or tostring(err)
  vim.cmd("bwipeout! " .. inside .. " " .. outside)
  vim.o.eventignore = ""
  R.config = C
end

local function health_scenario()
  help_scenario()
  config_scenario()
  local sc = require("smartcache")
  for _, case in ipairs(cfg.health_cases) do
    sc.setup({ cmd = case.cmd, settings = case.settings, cache_dir = case.cache_dir })
    health(case.label)
  end
  step("health")
end

local function run()
  local scenario = cfg.scenario == "health" and health_scenario or main_scenario
  local ok, err = xpcall(scenario, debug.traceback)
  if not ok then
    R.error = tostring(err)
  end
  R.messages = vim.api.nvim_exec("messages", true)
  write_result()
  vim.cmd("qa!")
end

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    vim.schedule(run)
  end,
})
"""


def _nvim_version(nvim: str) -> str:
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.splitlines()[0]


@pytest.fixture(scope="module")
def nvim() -> str:
    # SMARTCACHE_TEST_NVIM runs the same tests against another Neovim build (e.g. 0.11)
    path = os.environ.get("SMARTCACHE_TEST_NVIM") or shutil.which("nvim")
    if path is None:
        subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True, timeout=900)
        path = shutil.which("nvim")
    assert path is not None, f"{INSTALL_SCRIPT} ran but nvim is still not on PATH"
    version = _nvim_version(path)
    match = re.match(r"NVIM v(\d+)\.(\d+)", version)
    assert match and (int(match[1]), int(match[2])) >= (0, 7), version
    return path


def _make_workspace(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / ".git").mkdir()  # the root marker; nothing else of git is needed
    for name, text in WORKSPACE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _run_nvim(nvim: str, tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    home = tmp_path / "nvim-home"
    dirs = {name: home / name for name in ("config", "data", "state", "cache")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    config_path = tmp_path / "driver-config.json"
    result_path = tmp_path / "driver-result.json"
    driver = tmp_path / "driver.lua"
    config_path.write_text(json.dumps({"plugin_dir": str(PLUGIN_DIR), **config}), encoding="utf-8")
    driver.write_text(DRIVER, encoding="utf-8")
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(dirs["config"]),
        "XDG_DATA_HOME": str(dirs["data"]),
        "XDG_STATE_HOME": str(dirs["state"]),
        "XDG_CACHE_HOME": str(dirs["cache"]),
        "SMARTCACHE_NVIM_CONFIG": str(config_path),
        "SMARTCACHE_NVIM_RESULT": str(result_path),
    }
    proc = subprocess.run(
        [nvim, "--headless", "-n", "-i", "NONE", "-u", str(driver)],
        cwd=config.get("workspace", tmp_path),
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=NVIM_TIMEOUT,
    )
    lsp_logs = sorted(home.rglob("lsp.log"))
    log_tail = lsp_logs[0].read_text(errors="replace")[-4000:] if lsp_logs else "(no lsp.log)"
    diagnostics = (
        f"nvim exit {proc.returncode}\n"
        f"stdout: {proc.stdout[-2000:]}\n"
        f"stderr: {proc.stderr[-4000:]}\n"
        f"lsp.log tail:\n{log_tail}"
    )
    assert result_path.exists(), f"the Lua driver wrote no result\n{diagnostics}"
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    result["_diagnostics"] = diagnostics
    assert "error" not in result, f"{result['error']}\nsteps done: {result['steps']}\n{diagnostics}"
    return result


def test_plugin_end_to_end(nvim: str, tmp_path: Path) -> None:
    ws = _make_workspace(tmp_path / "ws")
    cache_dir = tmp_path / "server-cache"
    result = _run_nvim(
        nvim,
        tmp_path,
        {
            "scenario": "main",
            "workspace": str(ws),
            "cmd": [*SERVER_CMD, "--cache-dir", str(cache_dir)],
            "settings": {"prefetch": {"enabled": True, "topK": 2}},
            "sequence": SEQUENCE,
        },
    )
    where = result["_diagnostics"]
    version = result["version"]
    assert (version["major"], version["minor"]) >= (0, 7)
    release = (version["major"], version["minor"])
    expected_mode = (
        "vim.lsp.config" if release >= (0, 11) else "vim.lsp.start" if release >= (0, 8) else "start_client"
    )
    assert result["mode"] == expected_mode
    assert all(result["has_commands"].values()), result["has_commands"]

    # attached to the workspace found through .git, for every opened file
    assert Path(result["client_root"]) == ws
    assert sorted(result["attached"]) == ["a.py", "b.py", "c.py"]
    assert result["current_after_sequence"] == "a.py"

    # smartcache/predict from a.py (explicit uri, and the server's "last accessed" default)
    for key in ("predict_uri", "predict_default"):
        ranked = result[key]
        assert ranked, f"{key}: no predictions\n{where}"
        # b.py followed a.py three times, c.py once (c.py needs the focus events on a.py)
        assert [p["path"] for p in ranked[:2]] == ["b.py", "c.py"], f"{key}: {ranked}"
        assert ranked[0]["probability"] > ranked[1]["probability"], ranked
        assert "a.py" not in [p["path"] for p in ranked], ranked
        assert 0 < ranked[0]["probability"] <= 1
        probabilities = [p["probability"] for p in ranked]
        assert probabilities == sorted(probabilities, reverse=True), ranked

    # reads through the cache: the open b.py from the editor, d.py from disk and then from a tier
    reads = result["get_file"]
    assert reads["open"] == {"source": "memory", "text": WORKSPACE_FILES["b.py"]}, reads
    assert reads["first"] == {"source": "disk", "text": WORKSPACE_FILES["notes/todo.txt"]}, reads
    assert reads["second"]["source"] in ("memory", "sqlite"), reads
    raw = result["raw_stats"]
    assert raw["requests"]["getFile"]["count"] == 3, raw["requests"]

    # :SmartCacheStats: a floating window with per-tier hit ratios, prefetch accuracy, sizes
    lines = result["stats_lines"]
    text = "\n".join(lines)
    assert "hit ratio" in text, text
    assert re.search(r"\d+\.\d%", text), text
    header = next(i for i, line in enumerate(lines) if line.startswith("tier") and "hit ratio" in line)
    tiers = [line.split()[0] for line in lines[header + 1 :] if line.strip()][:2]
    assert tiers == ["memory", "sqlite"], text
    assert "prefetch accuracy" in text, text
    assert "first visits warm" in text and "per switch p95" in text, text
    # each row shows what the server reported, as a percentage and a size
    for tier in ("memory", "sqlite"):
        row = next(line for line in lines if line.startswith(tier)).split()
        want = raw["tiers"][tier]
        looked_up = want["hits"] + want["misses"]
        shown = f"{want['hitRatio'] * 100:.1f}%" if looked_up else "n/a"
        assert row[1] == shown, (row, want)
        assert row[2:5] == [str(want["hits"]), str(want["misses"]), str(want["entries"])], (
            row,
            want,
        )
        assert "/" in row[5:], row  # used / maximum size
    memory_row = next(line for line in lines if line.startswith("memory")).split()
    assert raw["tiers"]["memory"]["hits"] >= 1 and memory_row[1] != "0.0%", (
        memory_row,
        raw["tiers"],
    )
    requests = raw["requests"]["getFile"]
    share = requests["hits"] / requests["count"] * 100
    assert re.search(rf"getFile\s+hit ratio {share:.1f}%\s+requests 3", text), text
    assert re.search(r"\d+(\.\d)? (B|KiB|MiB|GiB) / \d+\.\d (MiB|GiB)", text), text

    # :checkhealth smartcache passes
    health = result["health"]["main"]
    health_text = "\n".join(health)
    assert not [line for line in health if "ERROR" in line], health_text
    oks = [line for line in health if re.match(OK, line)]
    assert len(oks) >= 4, health_text
    assert re.search(r"--version: smartcache-ls \d", health_text), health_text
    assert str(cache_dir) in health_text and "writable" in health_text, health_text
    assert re.search(r"server \d+ running for", health_text), health_text

    # :SmartCachePredict lists the ranking in vim.ui.select; choosing the first opens b.py
    assert result["select_from"] == "a.py"
    assert result["select_items"], result
    assert "b.py" in result["select_items"][0] and "%" in result["select_items"][0], result["select_items"]
    assert result["after_select"] == "b.py"

    # :SmartCacheClear all reports the server's answer
    messages = [m["msg"] for m in result["clear_messages"]]
    assert any("cleared every cache tier" in m for m in messages), messages

    # settings changed by a second setup() reach the running server
    assert result["raw_stats"]["tiers"]["memory"]["maxBytes"] == 256 * 2**20
    assert result["memory_max_after_resetup"] == 128 * 2**20
    assert result["clients_after_resetup"] == 1

    assert result["clients_stopped"], "the server did not stop on request"
    assert "deprecated" not in result["messages"].lower(), result["messages"]
    assert "error" not in result["messages"].lower(), result["messages"]


@pytest.fixture
def redis_port() -> Iterator[int | None]:
    """A throwaway redis-server on a free port, or None when it is not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        yield None
        return
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _section(lines: list[str]) -> str:
    return "\n".join(lines)


def test_health_help_and_config(nvim: str, tmp_path: Path, redis_port: int | None) -> None:
    """The health check is not a rubber stamp: a missing server or a dead Redis is an ERROR.

    Also: doc/smartcache.txt builds with :helptags and its main tags resolve, and the
    configuration maps buffers to roots and settings to initializationOptions.
    """
    dead_port = _free_port()
    cache_dir = tmp_path / "fresh" / "cache"
    cases: list[dict[str, Any]] = [
        {
            "label": "dead_redis",
            "cmd": SERVER_CMD,
            "cache_dir": str(cache_dir),
            "settings": {"redisUrl": f"redis://127.0.0.1:{dead_port}/0"},
        },
        {
            "label": "missing_server",
            "cmd": [str(tmp_path / "no-such-smartcache-ls")],
            "settings": {},
        },
    ]
    if redis_port is not None:
        cases.append(
            {
                "label": "live_redis",
                "cmd": SERVER_CMD,
                "settings": {"redisUrl": f"redis://127.0.0.1:{redis_port}"},
            }
        )
    ws = _make_workspace(tmp_path / "ws")
    (ws / "pkg").mkdir()
    (ws / "pkg" / "mod.py").write_text("x = 1\n", encoding="utf-8")
    outside = tmp_path / "outside.py"
    outside.write_text("y = 2\n", encoding="utf-8")
    doc_runtime = tmp_path / "doc-runtime"
    shutil.copytree(PLUGIN_DIR / "doc", doc_runtime / "doc")
    config = {
        "scenario": "health",
        "health_cases": cases,
        "doc_runtime": str(doc_runtime),
        "help_tags": HELP_TAGS,
        "workspace": str(ws),
        "outside": str(outside),
        "cmd": SERVER_CMD,
        "cache": str(tmp_path / "opt-cache"),
    }
    result = _run_nvim(nvim, tmp_path, config)
    assert result["help"] == dict.fromkeys(HELP_TAGS, "smartcache.txt"), result["help"]

    # which buffers belong to which root, and what goes out as initializationOptions
    conf = result["config"]
    assert conf["default"] == {"inside": str(ws), "outside": False}  # found through ws/.git
    assert conf["markers"] == {"inside": False, "outside": False}
    assert conf["root_dir"] == {"inside": str(ws / "pkg"), "outside": False}
    assert conf["root_fn"] == {"inside": str(ws / "pkg"), "outside": str(tmp_path)}
    assert conf["ft_lua"] == {"inside": False, "outside": False}
    assert conf["ft_python"] == {"inside": str(ws), "outside": False}
    assert json.loads(conf["init_options"]) == {
        "prefetch": {},
        "maxMemoryMB": 64,
        "cacheDir": str(tmp_path / "opt-cache"),
    }
    assert conf["empty_options"] == "{}"  # an object, not the array [] an empty Lua table becomes
    assert "cmd must be a non-empty list" in conf["bad_cmd"], conf["bad_cmd"]
    health = result["health"]

    dead = _section(health["dead_redis"])
    assert re.search(ERROR + rf"Redis at 127\.0\.0\.1:{dead_port} is not reachable", dead), dead
    assert re.search(OK + r".*--version: smartcache-ls \d", dead), dead
    assert f"cache dir {cache_dir} does not exist yet" in dead, dead
    assert "no smartcache-ls server is running" in dead, dead

    missing = _section(health["missing_server"])
    assert re.search(ERROR + "server command not found", missing), missing
    assert "Redis is not configured" in missing, missing

    if redis_port is not None:
        live = _section(health["live_redis"])
        reachable = OK + rf"Redis at 127\.0\.0\.1:{redis_port} is reachable \(replied \+PONG\)"
        assert re.search(reachable, live), live
        assert "ERROR" not in live, live
