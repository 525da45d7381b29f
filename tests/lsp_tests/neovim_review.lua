-- Drives Neovim 0.12 (headless) through qwen-lsp's review code action: change shop/pricing.py in the buffer
-- without saving, pick "review the changes in this file" the way a user does (`vim.lsp.buf.code_action`, which
-- runs the action's command), wait for the review to be shown (`vim.notify`, where Neovim puts
-- window/showMessage), and write the messages, the buffer's lines and whether it is still unsaved as JSON to
-- $QWEN_E2E_LOG.
local repo = assert(os.getenv('QWEN_E2E_REPO'))
local log_path = assert(os.getenv('QWEN_E2E_LOG'))
local messages = {}
vim.notify = function(message)
  table.insert(messages, message)
end

vim.cmd.edit(repo .. '/shop/pricing.py')
dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'neovim_start.lua'))

vim.api.nvim_buf_set_lines(0, 7, 8, true, { '    return round(price * (1 - percent / 1000), 2)' })
vim.lsp.buf.code_action({
  apply = true,
  filter = function(action)
    return action.title:find('review the changes', 1, true) ~= nil
  end,
})
local shown = vim.wait(20000, function()
  return vim.iter(messages):any(function(message)
    return message:find('still passes per cent', 1, true) ~= nil
  end)
end)

local file = assert(io.open(log_path, 'w'))
file:write(vim.json.encode({
  shown = shown,
  messages = messages,
  lines = vim.api.nvim_buf_get_lines(0, 0, -1, true),
  modified = vim.bo.modified,
}))
file:close()
vim.cmd('qall!')
