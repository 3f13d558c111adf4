-- smartcache.nvim: a thin Neovim client for smartcache-ls.
--
-- It starts the server for buffers inside a workspace root, passes the
-- settings as initializationOptions, tells the server when an already open
-- buffer gets the focus again, and presents the custom requests
-- (smartcache/stats, smartcache/predict, smartcache/clear). No cache or
-- prediction logic lives here.
--
-- Works on Neovim 0.7.2 and newer: vim.lsp.config/enable (0.11+), else
-- vim.lsp.start (0.8+), else vim.lsp.start_client + buf_attach_client.

local M = {}

local api = vim.api
local uv = vim.loop

M.name = "smartcache"

M.methods = {
  stats = "smartcache/stats",
  predict = "smartcache/predict",
  clear = "smartcache/clear",
  get_file = "smartcache/getFile",
  did_focus = "smartcache/didFocus",
}

local defaults = {
  -- The server command; a python interpreter works too:
  -- { "/path/to/python", "-m", "smartcache_ls" }.
  cmd = { "smartcache-ls" },
  -- A buffer belongs to the nearest ancestor directory holding one of these.
  root_markers = { ".git" },
  -- Override root detection: a directory (only buffers inside it attach) or
  -- function(path, bufnr) -> root directory or nil.
  root_dir = nil,
  -- Sent as initializationOptions (see :help smartcache-settings).
  settings = {},
  -- nil: every normal file buffer; else a list of 'filetype' values.
  filetypes = nil,
  -- Where the server keeps its SQLite cache (settings.cacheDir); nil: the
  -- server's default (the user cache dir, or --cache-dir in cmd).
  cache_dir = nil,
  -- Extra fields for the client config (capabilities, on_attach, handlers...).
  client = {},
}

M.config = vim.deepcopy(defaults)
M._did_setup = false

local has = function(feature)
  return vim.fn.has(feature) == 1
end

-- Client objects use methods (client:request) from 0.11 on and plain
-- functions (client.request) before.
local METHOD_STYLE = has("nvim-0.11")

local function client_call(client, fname, ...)
  if METHOD_STYLE then
    return client[fname](client, ...)
  end
  return client[fname](...)
end

local function notify(msg, level)
  vim.notify("smartcache: " .. msg, level or vim.log.levels.INFO)
end

-- settings -------------------------------------------------------------------

-- Lua tables to something vim.json encodes as the server expects: empty
-- tables become JSON objects (not arrays).
local function json_ready(value)
  if type(value) ~= "table" or value == vim.NIL then
    return value
  end
  if vim.tbl_isempty(value) then
    return vim.empty_dict()
  end
  local out = {}
  for k, v in pairs(value) do
    out[k] = json_ready(v)
  end
  return out
end

--- The initializationOptions sent to the server.
function M.init_options()
  local settings = vim.deepcopy(M.config.settings or {})
  if M.config.cache_dir and settings.cacheDir == nil then
    settings.cacheDir = vim.fn.fnamemodify(vim.fn.expand(M.config.cache_dir), ":p"):gsub("/$", "")
  end
  return json_ready(settings)
end

-- roots ------------------------------------------------------------------------

local function is_dir(path)
  local stat = uv.fs_stat(path)
  return stat ~= nil and stat.type == "directory"
end

local function strip_slash(path)
  if #path > 1 then
    path = path:gsub("/+$", "")
  end
  return path
end

local function is_inside(path, root)
  root = strip_slash(root)
  return path == root or path:sub(1, #root + 1) == root .. "/"
end

--- The nearest ancestor of `path` holding one of `markers`, or nil.
function M.find_root(path, markers)
  local dir = vim.fn.fnamemodify(path, ":p")
  if not is_dir(dir) then
    dir = vim.fn.fnamemodify(dir, ":h")
  end
  dir = strip_slash(dir)
  while true do
    for _, marker in ipairs(markers) do
      if uv.fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir or parent == "" then
      return nil
    end
    dir = parent
  end
end

--- The absolute file path of a buffer the server should see, or nil.
function M.buf_path(bufnr)
  if not api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local name = api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return nil
  end
  local filetypes = M.config.filetypes
  if filetypes and not vim.tbl_contains(filetypes, vim.bo[bufnr].filetype) then
    return nil
  end
  return vim.fn.fnamemodify(name, ":p")
end

--- The workspace root of a buffer, or nil when the buffer is outside every workspace.
function M.root_for(bufnr)
  local path = M.buf_path(bufnr)
  if not path then
    return nil
  end
  local override = M.config.root_dir
  if type(override) == "function" then
    local root = override(path, bufnr)
    return root and strip_slash(vim.fn.fnamemodify(root, ":p")) or nil
  elseif type(override) == "string" and override ~= "" then
    local root = strip_slash(vim.fn.fnamemodify(vim.fn.expand(override), ":p"))
    return is_inside(path, root) and root or nil
  end
  return M.find_root(path, M.config.root_markers or defaults.root_markers)
end

-- clients ------------------------------------------------------------------------

local function is_stopped(client)
  return client_call(client, "is_stopped")
end

local function is_attached(client, bufnr)
  if vim.lsp.buf_is_attached then
    return vim.lsp.buf_is_attached(bufnr, client.id)
  end
  return client.attached_buffers ~= nil and client.attached_buffers[bufnr] == true
end

--- Running smartcache clients; with bufnr, those attached to that buffer.
function M.clients(bufnr)
  local all
  if vim.lsp.get_clients then
    all = vim.lsp.get_clients({ name = M.name })
  else
    all = vim.lsp.get_active_clients()
  end
  local out = {}
  for _, client in ipairs(all) do
    if client.name == M.name and not is_stopped(client) then
      if bufnr == nil or is_attached(client, bufnr) then
        table.insert(out, client)
      end
    end
  end
  return out
end

--- The client serving bufnr (default: the current buffer), else any running client.
function M.client(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  return M.clients(bufnr)[1], M.clients()[1]
end

local function client_config(root)
  local config = vim.tbl_extend("keep", {
    name = M.name,
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = {
      { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") },
    },
    init_options = M.init_options(),
    settings = { smartcache = M.init_options() },
  }, M.config.client or {})
  return config
end

-- Neovim 0.7: one client per root, started and attached by hand.
local legacy_clients = {}
-- Roots whose server failed to spawn: not retried (nor reported again) until setup() runs again.
local failed_roots = {}

local function start_failed(root)
  failed_roots[root] = true
  notify(
    string.format("could not start %s for %s (see :checkhealth smartcache)", table.concat(M.config.cmd, " "), root),
    vim.log.levels.ERROR
  )
end

local function legacy_attach(bufnr, root)
  local client_id = legacy_clients[root]
  if client_id then
    local client = vim.lsp.get_client_by_id(client_id)
    if not client or is_stopped(client) then
      client_id = nil
    end
  end
  if not client_id then
    local config = client_config(root)
    local user_exit = config.on_exit
    config.on_exit = function(code, signal, id)
      if legacy_clients[root] == id then
        legacy_clients[root] = nil
      end
      if user_exit then
        user_exit(code, signal, id)
      end
    end
    client_id = vim.lsp.start_client(config)
    if not client_id then
      return start_failed(root)
    end
    legacy_clients[root] = client_id
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
end

--- Start (or reuse) the server for bufnr and attach it, when the buffer is in a workspace.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  if not api.nvim_buf_is_loaded(bufnr) then
    return
  end
  local root = M.root_for(bufnr)
  if not root or failed_roots[root] then
    return
  end
  if vim.lsp.start then
    local config = client_config(root)
    local client_id
    api.nvim_buf_call(bufnr, function()
      client_id = vim.lsp.start(config, { bufnr = bufnr })
    end)
    if not client_id then
      start_failed(root)
    end
  else
    legacy_attach(bufnr, root)
  end
end

--- Tell the server that bufnr got the focus (no didOpen is sent for a buffer already open).
function M.focus(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  for _, client in ipairs(M.clients(bufnr)) do
    if client.initialized ~= false then
      client_call(client, "notify", M.methods.did_focus, { uri = vim.uri_from_bufnr(bufnr) })
    end
  end
end

--- Send a request to the smartcache client of bufnr (or any running one).
--- handler(err, result, client) is called on the main loop.
function M.request(method, params, handler, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local own, any = M.client(bufnr)
  local client = own or any
  if not client then
    notify("no smartcache-ls server is running (open a file inside a workspace first)", vim.log.levels.WARN)
    return false
  end
  if params == nil or (type(params) == "table" and vim.tbl_isempty(params)) then
    params = vim.empty_dict()
  end
  client_call(client, "request", method, params, function(err, result)
    handler(err, result, client)
  end, bufnr)
  return true
end

-- presentation ---------------------------------------------------------------------

local function num(value)
  if type(value) == "number" then
    return value
  end
  return nil
end

local function pct(value)
  value = num(value)
  if value == nil then
    return "n/a"
  end
  return string.format("%.1f%%", value * 100)
end

local function human_bytes(value)
  value = num(value)
  if value == nil then
    return "?"
  end
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while value >= 1024 and i < #units do
    value = value / 1024
    i = i + 1
  end
  if i == 1 then
    return string.format("%d B", value)
  end
  return string.format("%.1f %s", value, units[i])
end

-- A hit ratio, or n/a when nothing was looked up yet.
local function ratio(tbl)
  local hits, misses = num(tbl and tbl.hits), num(tbl and tbl.misses)
  if hits and misses and hits + misses == 0 then
    return "n/a"
  end
  return pct(tbl and tbl.hitRatio)
end

local function int(value)
  value = num(value)
  return value and string.format("%d", value) or "-"
end

local function field(tbl, key)
  if type(tbl) ~= "table" then
    return nil
  end
  local value = tbl[key]
  if value == vim.NIL then
    return nil
  end
  return value
end

--- The lines :SmartCacheStats shows for a smartcache/stats result.
function M.format_stats(stats)
  local lines = {}
  local uptime = num(field(stats, "uptimeSeconds"))
  table.insert(
    lines,
    string.format(
      "smartcache-ls %s   up %s",
      tostring(field(stats, "version") or "?"),
      uptime and string.format("%.0fs", uptime) or "?"
    )
  )
  if field(stats, "cacheDir") then
    table.insert(lines, "cache dir: " .. stats.cacheDir)
  end
  for _, ws in ipairs(field(stats, "workspaces") or {}) do
    local uri = field(ws, "uri")
    local label = uri and vim.uri_to_fname(uri) or "?"
    table.insert(lines, "workspace: " .. label)
  end
  table.insert(lines, "")
  local row = "%-8s %10s %8s %8s %8s  %s"
  table.insert(lines, string.format(row, "tier", "hit ratio", "hits", "misses", "entries", "size"))
  local tiers = field(stats, "tiers") or {}
  local names = {}
  for _, name in ipairs({ "memory", "sqlite", "redis" }) do
    if field(tiers, name) then
      table.insert(names, name)
    end
  end
  for name in pairs(tiers) do
    if not vim.tbl_contains(names, name) then
      table.insert(names, name)
    end
  end
  for _, name in ipairs(names) do
    local tier = tiers[name]
    local size = human_bytes(field(tier, "bytes"))
    if num(field(tier, "maxBytes")) then
      size = size .. " / " .. human_bytes(tier.maxBytes)
    end
    table.insert(
      lines,
      string.format(
        row,
        name,
        ratio(tier),
        int(field(tier, "hits")),
        int(field(tier, "misses")),
        int(field(tier, "entries")),
        size
      )
    )
  end
  table.insert(lines, "")
  local prefetch = field(stats, "prefetch") or {}
  local issued = num(field(prefetch, "issued"))
  table.insert(
    lines,
    string.format(
      "prefetch accuracy %s   issued %s  used %s  wasted %s  queued %s",
      issued == 0 and "n/a" or pct(field(prefetch, "accuracy")),
      int(field(prefetch, "issued")),
      int(field(prefetch, "used")),
      int(field(prefetch, "wasted")),
      int(field(prefetch, "queued"))
    )
  )
  local first = num(field(prefetch, "firstVisits")) or 0
  table.insert(
    lines,
    string.format(
      "first visits warm %s (%s of %s)   precision %s   lead time p50 %s p95 %s",
      first == 0 and "n/a" or pct((num(field(prefetch, "firstVisitsWarm")) or 0) / first),
      int(field(prefetch, "firstVisitsWarm")),
      int(field(prefetch, "firstVisits")),
      (num(field(prefetch, "prefetchedFiles")) or 0) == 0 and "n/a" or pct(field(prefetch, "precision")),
      string.format("%.1fs", num(field(prefetch, "leadTimeP50")) or 0),
      string.format("%.1fs", num(field(prefetch, "leadTimeP95")) or 0)
    )
  )
  table.insert(
    lines,
    string.format(
      "per switch p95 %s files %.3f CPU-s   wasted %s, %.2f CPU-s",
      int(field(prefetch, "filesPerSwitchP95")),
      num(field(prefetch, "cpuPerSwitchP95")) or 0,
      human_bytes(field(prefetch, "wastedBytes")),
      num(field(prefetch, "wastedCpuSeconds")) or 0
    )
  )
  local requests = field(stats, "requests") or {}
  for _, name in ipairs({ "getFile", "getAnalysis" }) do
    local r = field(requests, name)
    if r then
      table.insert(
        lines,
        string.format(
          "%-11s hit ratio %s   requests %s  hits %s  misses %s",
          name,
          ratio(r),
          int(field(r, "count")),
          int(field(r, "hits")),
          int(field(r, "misses"))
        )
      )
    end
  end
  local predictor = field(stats, "predictor")
  if predictor then
    table.insert(
      lines,
      string.format(
        "predictor   %s files  %s transitions  %s",
        int(field(predictor, "files")),
        int(field(predictor, "transitions")),
        human_bytes(field(predictor, "bytes"))
      )
    )
  end
  return lines
end

--- Show lines in a centred floating window; q or <Esc> closes it. Returns (win, buf).
function M.float(lines, title)
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "smartcache"
  local width = 20
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  width = math.min(width + 2, math.max(20, vim.o.columns - 4))
  local height = math.min(#lines, math.max(1, vim.o.lines - 4))
  local opts = {
    relative = "editor",
    width = width,
    height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    style = "minimal",
    border = "rounded",
  }
  if title and has("nvim-0.9") then
    opts.title = " " .. title .. " "
    opts.title_pos = "center"
  end
  local win = api.nvim_open_win(buf, true, opts)
  for _, key in ipairs({ "q", "<Esc>" }) do
    api.nvim_buf_set_keymap(buf, "n", key, "<cmd>close<CR>", { noremap = true, silent = true, nowait = true })
  end
  api.nvim_create_autocmd("BufLeave", {
    buffer = buf,
    once = true,
    callback = function()
      if api.nvim_win_is_valid(win) then
        api.nvim_win_close(win, true)
      end
    end,
  })
  return win, buf
end

local function report_error(what, err)
  local msg = type(err) == "table" and (err.message or vim.inspect(err)) or tostring(err)
  notify(what .. " failed: " .. msg, vim.log.levels.ERROR)
end

--- :SmartCacheStats
function M.stats()
  return M.request(M.methods.stats, vim.empty_dict(), function(err, result)
    if err then
      return report_error("smartcache/stats", err)
    end
    M.float(M.format_stats(result or {}), "smartcache")
  end)
end

local function relative(path, client)
  local root = client and client.config and client.config.root_dir
  if root and is_inside(path, root) then
    return path:sub(#strip_slash(root) + 2)
  end
  return vim.fn.fnamemodify(path, ":~:.")
end

--- :SmartCachePredict [k]: ranked predictions in vim.ui.select; the chosen file is opened.
function M.predict(k)
  local bufnr = api.nvim_get_current_buf()
  local params = { k = tonumber(k) or 10 }
  if #M.clients(bufnr) > 0 then
    params.uri = vim.uri_from_bufnr(bufnr)
  end
  return M.request(M.methods.predict, params, function(err, result, client)
    if err then
      return report_error("smartcache/predict", err)
    end
    if type(result) ~= "table" or #result == 0 then
      return notify("no predictions yet: open a few files first")
    end
    vim.ui.select(result, {
      prompt = "Predicted next files:",
      kind = "smartcache.prediction",
      format_item = function(item)
        local reason = field(item, "reason")
        return string.format(
          "%5.1f%%  %s%s",
          (num(field(item, "probability")) or 0) * 100,
          relative(vim.uri_to_fname(item.uri), client),
          reason and reason ~= "" and ("  (" .. reason .. ")") or ""
        )
      end,
    }, function(choice)
      if choice and choice.uri then
        vim.cmd("edit " .. vim.fn.fnameescape(vim.uri_to_fname(choice.uri)))
      end
    end)
  end, bufnr)
end

--- :SmartCacheClear [memory|all]
function M.clear(scope)
  scope = (scope == nil or scope == "") and "memory" or scope
  if scope ~= "memory" and scope ~= "all" then
    return notify("scope must be 'memory' or 'all', got '" .. scope .. "'", vim.log.levels.ERROR)
  end
  return M.request(M.methods.clear, { scope = scope }, function(err, result)
    if err then
      return report_error("smartcache/clear", err)
    end
    local cleared = field(result, "scope") or scope
    notify(cleared == "all" and "cleared every cache tier" or "cleared the memory cache")
  end)
end

-- setup ----------------------------------------------------------------------------

local function validate(config)
  local function check(name, ok, expected)
    if not ok then
      error(string.format("smartcache.setup: %s must be %s, got %s", name, expected, vim.inspect(config[name])), 3)
    end
  end
  check("cmd", type(config.cmd) == "table" and #config.cmd > 0, "a non-empty list of strings")
  for _, arg in ipairs(config.cmd) do
    check("cmd", type(arg) == "string", "a non-empty list of strings")
  end
  check("root_markers", type(config.root_markers) == "table", "a list of file names")
  check("root_dir", config.root_dir == nil or type(config.root_dir) == "string" or type(config.root_dir) == "function",
    "nil, a directory or a function")
  check("settings", type(config.settings) == "table", "a table")
  check("filetypes", config.filetypes == nil or type(config.filetypes) == "table", "nil or a list")
  check("cache_dir", config.cache_dir == nil or type(config.cache_dir) == "string", "nil or a directory")
  check("client", type(config.client) == "table", "a table")
end

local function enable_native()
  -- Neovim 0.11+: the built-in config registry starts and attaches the client
  -- on FileType; root_dir decides whether a buffer belongs to a workspace.
  local config = {
    cmd = M.config.cmd,
    filetypes = M.config.filetypes,
    init_options = M.init_options(),
    settings = { smartcache = M.init_options() },
    root_dir = function(bufnr, on_dir)
      local root = M.root_for(bufnr)
      if root then
        on_dir(root)
      end
    end,
  }
  vim.lsp.config(M.name, vim.tbl_extend("keep", config, M.config.client or {}))
  vim.lsp.enable(M.name)
end

--- Configure and enable the client. Calling it again replaces the configuration.
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  -- Lists replace defaults rather than merge with them.
  if opts and opts.cmd then
    M.config.cmd = vim.deepcopy(opts.cmd)
  end
  if opts and opts.root_markers then
    M.config.root_markers = vim.deepcopy(opts.root_markers)
  end
  validate(M.config)
  M._did_setup = true
  failed_roots = {}

  local group = api.nvim_create_augroup("smartcache", { clear = true })
  local native = vim.lsp.config ~= nil and vim.lsp.enable ~= nil
  M._mode = native and "vim.lsp.config" or (vim.lsp.start and "vim.lsp.start" or "start_client")
  if native then
    enable_native()
  else
    api.nvim_create_autocmd({ "BufReadPost", "BufNewFile", "FileType", "BufEnter" }, {
      group = group,
      callback = function(args)
        M.attach(args.buf)
      end,
    })
  end
  api.nvim_create_autocmd("BufEnter", {
    group = group,
    callback = function(args)
      M.focus(args.buf)
    end,
  })
  -- Servers already running get the new settings (they keep their command and root).
  for _, client in ipairs(M.clients()) do
    client_call(client, "notify", "workspace/didChangeConfiguration", {
      settings = { smartcache = M.init_options() },
    })
  end
  if not native then
    for _, bufnr in ipairs(api.nvim_list_bufs()) do
      if api.nvim_buf_is_loaded(bufnr) then
        M.attach(bufnr)
      end
    end
  end
end

return M
