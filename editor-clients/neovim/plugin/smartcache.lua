-- smartcache.nvim: user commands. The client starts only after
-- require("smartcache").setup({...}) (see :help smartcache).
if vim.g.loaded_smartcache then
  return
end
vim.g.loaded_smartcache = true

if vim.fn.has("nvim-0.7") ~= 1 then
  vim.notify("smartcache: Neovim 0.7 or newer is required", vim.log.levels.ERROR)
  return
end

local command = vim.api.nvim_create_user_command

command("SmartCacheStats", function()
  require("smartcache").stats()
end, { desc = "smartcache-ls: cache statistics in a floating window" })

command("SmartCachePredict", function(opts)
  require("smartcache").predict(opts.args ~= "" and opts.args or nil)
end, { nargs = "?", desc = "smartcache-ls: pick one of the predicted next files" })

command("SmartCacheClear", function(opts)
  require("smartcache").clear(opts.args)
end, {
  nargs = "?",
  complete = function()
    return { "memory", "all" }
  end,
  desc = "smartcache-ls: clear the memory cache (or 'all' tiers)",
})
