-- Drives Neovim 0.12 (headless) through qwen-lsp's docstring code action on the last function of
-- shop/pricing.py: list the actions at line 13, resolve the docstring one, apply its edit the way Neovim applies
-- every WorkspaceEdit, and write the buffer's lines and its 'eol' option as JSON to $QWEN_E2E_LOG.
local repo = assert(os.getenv('QWEN_E2E_REPO'))
local log_path = assert(os.getenv('QWEN_E2E_LOG'))

vim.cmd.edit(repo .. '/shop/pricing.py')
local client = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'neovim_start.lua'))

local cursor = { line = 12, character = 4 }
local listed = assert(client:request_sync('textDocument/codeAction', {
  textDocument = { uri = vim.uri_from_bufnr(0) },
  range = { start = cursor, ['end'] = cursor },
  context = { diagnostics = {} },
}, 15000, 0)).result
local docstring
for _, action in ipairs(listed or {}) do
  if action.title:find('docstring', 1, true) then
    docstring = action
  end
end
local resolved = assert(client:request_sync('codeAction/resolve', assert(docstring), 15000, 0)).result
vim.lsp.util.apply_workspace_edit(resolved.edit, client.offset_encoding)

local file = assert(io.open(log_path, 'w'))
file:write(vim.json.encode({ lines = vim.api.nvim_buf_get_lines(0, 0, -1, true), eol = vim.bo.eol }))
file:close()
vim.cmd('qall!')
