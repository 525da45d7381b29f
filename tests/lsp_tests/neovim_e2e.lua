-- Drives Neovim 0.12 (headless) through one inline completion from qwen-lsp: start the server, type in a file of
-- the fixture repository, wait for the suggestion, accept it, write the buffer and quit. Exit code 0 on success;
-- on timeout the reason is written to $QWEN_E2E_LOG and Neovim exits with 1. Paths come from the environment.
local repo = assert(os.getenv('QWEN_E2E_REPO'))
local log_path = assert(os.getenv('QWEN_E2E_LOG'))
local deadline = vim.uv.now() + 30000

local function fail(reason)
  local file = assert(io.open(log_path, 'w'))
  file:write(reason)
  file:close()
  vim.cmd('cquit 1')
end

-- The end of the server's indexing $/progress: the repository is in the prompts from then on.
local indexed = false
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(event)
    if event.data.params.value.kind == 'end' then
      indexed = true
    end
  end,
})

vim.cmd.edit(repo .. '/shop/checkout.py')
local client_id = vim.lsp.start({
  name = 'qwen',
  cmd = { assert(os.getenv('QWEN_E2E_LSP')), '--log-level', 'INFO' },
  root_dir = repo,
  init_options = {
    debounceMs = 0,
    model = { baseUrl = assert(os.getenv('QWEN_E2E_URL')), model = 'qwen3-coder' },
  },
})
if not client_id then
  fail('vim.lsp.start did not start qwen-lsp')
end
vim.lsp.inline_completion.enable(true)

local accepted = false
local function poll()
  if vim.uv.now() > deadline then
    return fail('timed out: mode=' .. vim.api.nvim_get_mode().mode .. ' accepted=' .. tostring(accepted)
      .. ' line=' .. vim.api.nvim_get_current_line())
  end
  if not accepted then
    accepted = vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' and vim.lsp.inline_completion.get()
  elseif vim.api.nvim_get_current_line():find('apply_discount(subtotal, 10)', 1, true) then
    vim.cmd('stopinsert')
    vim.cmd('write')
    return vim.cmd('qall!')
  end
  vim.defer_fn(poll, 50)
end

-- Type once the workspace is indexed, then let the main loop run the keys and the LSP exchange.
if not vim.wait(20000, function()
  return indexed
end) then
  return fail('timed out waiting for the end of the indexing $/progress')
end
vim.api.nvim_feedkeys('Gototal = ', 'n', false)
vim.defer_fn(poll, 50)
