-- :checkhealth smartcache
-- Neovim 0.7-0.9 report through require("health").report_*, 0.10+ through
-- vim.health.start/ok/warn/error/info; both are supported.

local M = {}

local uv = vim.loop

local function reporter()
  local new = vim.health or {}
  local ok_old, old = false, nil
  if not new.start then
    ok_old, old = pcall(require, "health")
    if not ok_old then
      old = {}
    end
  end
  local function pick(name)
    if new[name] then
      return new[name]
    end
    if new["report_" .. name] then
      return new["report_" .. name]
    end
    return old["report_" .. name]
  end
  return {
    start = pick("start"),
    ok = pick("ok"),
    warn = pick("warn"),
    error = pick("error"),
    info = pick("info"),
  }
end

local function version_string()
  local v = vim.version()
  return string.format("%d.%d.%d", v.major, v.minor, v.patch)
end

-- Run argv with a bounded wait; returns (exit code or nil, output).
local function run(argv, timeout)
  local out = {}
  local collect = function(_, data)
    for _, line in ipairs(data or {}) do
      if line ~= "" then
        table.insert(out, line)
      end
    end
  end
  local ok, job = pcall(vim.fn.jobstart, argv, {
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = collect,
    on_stderr = collect,
  })
  if not ok or job <= 0 then
    return nil, "could not run " .. argv[1] .. (ok and "" or (": " .. tostring(job)))
  end
  local code = vim.fn.jobwait({ job }, timeout)[1]
  if code == -1 then
    vim.fn.jobstop(job)
    return nil, string.format("timed out after %d ms", timeout)
  end
  return code, table.concat(out, "\n")
end

local function cmd_option(cmd, name)
  for i, arg in ipairs(cmd) do
    if arg == name and cmd[i + 1] then
      return cmd[i + 1]
    end
    local value = arg:match("^" .. vim.pesc(name) .. "=(.+)$")
    if value then
      return value
    end
  end
  return nil
end

local function default_cache_dir()
  if vim.fn.has("mac") == 1 then
    return vim.fn.expand("~/Library/Caches/smartcache-ls")
  end
  local base = os.getenv("XDG_CACHE_HOME")
  if not base or base == "" then
    base = vim.fn.expand("~/.cache")
  end
  return base .. "/smartcache-ls"
end

-- A synchronous smartcache/stats to a running client (bounded).
local function server_stats(client, timeout)
  local done, result, err = false, nil, nil
  local params = vim.empty_dict()
  local handler = function(e, r)
    err, result, done = e, r, true
  end
  local ok
  if vim.fn.has("nvim-0.11") == 1 then
    ok = client:request("smartcache/stats", params, handler)
  else
    ok = client.request("smartcache/stats", params, handler)
  end
  if not ok then
    return nil, "request not sent"
  end
  vim.wait(timeout, function()
    return done
  end, 20)
  if not done then
    return nil, "no answer within " .. timeout .. " ms"
  end
  if err then
    return nil, type(err) == "table" and (err.message or vim.inspect(err)) or tostring(err)
  end
  return result, nil
end

local function check_dir_writable(h, dir, origin)
  dir = vim.fn.fnamemodify(vim.fn.expand(dir), ":p"):gsub("/$", "")
  if vim.fn.isdirectory(dir) == 1 then
    local probe = string.format("%s/.smartcache-health-%d", dir, uv.getpid())
    local f = io.open(probe, "w")
    if f then
      f:write("ok")
      f:close()
      os.remove(probe)
      h.ok(string.format("cache dir %s is writable (%s)", dir, origin))
    else
      h.error(string.format("cache dir %s is not writable (%s)", dir, origin), {
        "Fix its permissions or set another one: require('smartcache').setup({ cache_dir = ... })",
      })
    end
    return
  end
  local parent = dir
  while vim.fn.isdirectory(parent) == 0 do
    local up = vim.fn.fnamemodify(parent, ":h")
    if up == parent then
      break
    end
    parent = up
  end
  if vim.fn.filewritable(parent) == 2 then
    h.ok(string.format("cache dir %s does not exist yet; %s is writable, so it can be created (%s)", dir, parent, origin))
  else
    h.error(string.format("cache dir %s cannot be created: %s is not writable (%s)", dir, parent, origin), {
      "Set a writable one: require('smartcache').setup({ cache_dir = ... })",
    })
  end
end

local function parse_redis_url(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    return nil, "not a URL"
  end
  scheme = scheme:lower()
  if scheme == "unix" then
    local path = rest:gsub("^[^/]*@", ""):gsub("%?.*$", "")
    return { pipe = path }
  end
  if scheme ~= "redis" and scheme ~= "rediss" then
    return nil, "unsupported scheme '" .. scheme .. "'"
  end
  local hostport = rest:gsub("^.*@", ""):gsub("[/?].*$", "")
  local host, port
  if hostport:sub(1, 1) == "[" then
    host, port = hostport:match("^%[(.-)%]:?(%d*)$")
  else
    host, port = hostport:match("^([^:]*):?(%d*)$")
  end
  if host == nil then
    return nil, "cannot read host and port from '" .. hostport .. "'"
  end
  return { host = host ~= "" and host or "localhost", port = tonumber(port) or 6379, tls = scheme == "rediss" }
end

-- Connect (and PING over plain TCP); returns (true, detail) or (false, why).
local function probe_redis(target, timeout)
  local handle, connect_to
  if target.pipe then
    handle = uv.new_pipe(false)
    connect_to = function(cb)
      handle:connect(target.pipe, cb)
    end
  else
    local infos, gerr = uv.getaddrinfo(target.host, tostring(target.port), { socktype = "stream" })
    if not infos or #infos == 0 then
      return false, "cannot resolve " .. target.host .. ": " .. tostring(gerr)
    end
    handle = uv.new_tcp()
    connect_to = function(cb)
      handle:connect(infos[1].addr, target.port, cb)
    end
  end
  local state = { connected = false, done = false }
  local ok, perr = pcall(connect_to, function(cerr)
    if cerr then
      state.error, state.done = cerr, true
      return
    end
    state.connected = true
    if target.tls then
      state.done = true
      return
    end
    handle:read_start(function(rerr, chunk)
      state.reply = rerr or chunk or ""
      state.done = true
    end)
    handle:write("PING\r\n")
  end)
  if not ok then
    state.error, state.done = perr, true
  end
  vim.wait(timeout, function()
    return state.done
  end, 20)
  pcall(function()
    handle:read_stop()
  end)
  if not handle:is_closing() then
    handle:close()
  end
  if state.error then
    return false, tostring(state.error)
  end
  if not state.connected then
    return false, "no connection within " .. timeout .. " ms"
  end
  local reply = state.reply and vim.trim((state.reply:gsub("\r?\n.*", ""))) or ""
  return true, reply ~= "" and ("replied " .. reply) or "connected"
end

function M.check()
  local h = reporter()
  local smartcache = require("smartcache")
  local config = smartcache.config

  h.start("smartcache: client")
  h.info(string.format("Neovim %s; clients start through %s", version_string(), smartcache._mode or
    (vim.lsp.config and vim.lsp.enable and "vim.lsp.config" or (vim.lsp.start and "vim.lsp.start" or "start_client"))))
  if smartcache._did_setup then
    h.ok("require('smartcache').setup() was called")
  else
    h.warn("require('smartcache').setup() has not been called: no server will start", {
      "Add require('smartcache').setup({}) to your init.lua (see :help smartcache-setup)",
    })
  end

  h.start("smartcache: server")
  local cmd = config.cmd
  local exe = vim.fn.exepath(cmd[1])
  if exe == "" then
    h.error(string.format("server command not found: %s", cmd[1]), {
      "Install it (pip install smartcache-ls) or set cmd = { '/path/to/python', '-m', 'smartcache_ls' }",
    })
  else
    h.ok(string.format("found %s (%s)", cmd[1], exe))
    local argv = vim.deepcopy(cmd)
    table.insert(argv, "--version")
    local code, output = run(argv, 20000)
    local version = output and output:match("smartcache%-ls%s+(%S+)")
    if code == 0 and version then
      h.ok(string.format("%s --version: smartcache-ls %s", table.concat(cmd, " "), version))
    else
      h.error(string.format("%s --version failed (exit %s): %s", table.concat(cmd, " "), tostring(code), output), {
        "Check that the server is installed in the interpreter named by cmd",
      })
    end
  end

  local reported_dir
  local clients = smartcache.clients()
  if #clients == 0 then
    h.info("no smartcache-ls server is running (one starts when a file inside a workspace is opened)")
  end
  for _, client in ipairs(clients) do
    local stats, why = server_stats(client, 5000)
    local root = client.config and client.config.root_dir or "?"
    if stats then
      h.ok(string.format("server %d running for %s: version %s", client.id, root, tostring(stats.version)))
      if type(stats.cacheDir) == "string" then
        reported_dir = reported_dir or stats.cacheDir
      end
    else
      h.error(string.format("server %d for %s does not answer smartcache/stats: %s", client.id, root, why))
    end
  end

  h.start("smartcache: cache")
  local settings = config.settings or {}
  if reported_dir then
    check_dir_writable(h, reported_dir, "reported by the running server")
  elseif config.cache_dir then
    check_dir_writable(h, config.cache_dir, "cache_dir")
  elseif type(settings.cacheDir) == "string" and settings.cacheDir ~= "" then
    check_dir_writable(h, settings.cacheDir, "settings.cacheDir")
  elseif cmd_option(cmd, "--cache-dir") then
    check_dir_writable(h, cmd_option(cmd, "--cache-dir"), "--cache-dir in cmd")
  else
    check_dir_writable(h, default_cache_dir(), "the server's default")
  end

  local url = settings.redisUrl
  if type(url) ~= "string" or url == "" then
    h.info("Redis is not configured (settings.redisUrl): memory and SQLite tiers only")
  else
    local target, perr = parse_redis_url(url)
    if not target then
      h.error(string.format("settings.redisUrl %s: %s", url, perr))
    else
      local reachable, detail = probe_redis(target, 3000)
      local where = target.pipe or string.format("%s:%d", target.host, target.port)
      if reachable then
        h.ok(string.format("Redis at %s is reachable (%s)", where, detail))
      else
        h.error(string.format("Redis at %s is not reachable: %s", where, detail), {
          "Start Redis or fix settings.redisUrl; the server falls back to memory + SQLite",
        })
      end
    end
  end
end

return M
