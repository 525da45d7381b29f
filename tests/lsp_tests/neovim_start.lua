-- Shared by the Neovim end-to-end scripts: start qwen-lsp ($QWEN_E2E_LSP) for the current buffer on the fixture
-- repository ($QWEN_E2E_REPO) with the fake model ($QWEN_E2E_URL), wait for it to initialize, return the client.
local client_id = assert(vim.lsp.start({
  name = 'qwen',
  cmd = { assert(os.getenv('QWEN_E2E_LSP')), '--log-level', 'INFO' },
  root_dir = assert(os.getenv('QWEN_E2E_REPO')),
  init_options = { model = { baseUrl = assert(os.getenv('QWEN_E2E_URL')), model = 'qwen3-coder' } },
}))
assert(vim.wait(15000, function()
  local client = vim.lsp.get_client_by_id(client_id)
  return client ~= nil and client.initialized
end), 'qwen-lsp did not initialize')
return assert(vim.lsp.get_client_by_id(client_id))
