-- The qwen-lsp server configuration that Neovim 0.11+ finds on 'runtimepath' (`:help lsp-config`).
-- With the plugin on 'runtimepath', `vim.lsp.enable('qwen')` alone starts it; `require('qwen').setup{}` adds
-- inline completion, keymaps and commands on top (README.md shows the keymap accepting a suggestion without it).

--- qwen-lsp's messages (a model it cannot reach, a bad setting) as one line that fits the command line, so a
--- message arriving while the user types never stops insert mode with a hit-enter prompt. The full text goes
--- to the LSP log (`:LspLog`), beside the server's stderr.
---@param params lsp.ShowMessageParams
local function show_message(_, params)
  local text = params.message:gsub('^qwen%-lsp: ', ''):gsub('%s+', ' ')
  local line = 'qwen: ' .. text
  local room = math.max(vim.v.echospace - 1, 20)
  if vim.fn.strdisplaywidth(line) > room then
    line = vim.fn.strcharpart(line, 0, room - 1) .. '…'
  end
  local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }
  vim.lsp.log.warn('qwen-lsp message:', params.message)
  vim.notify(line, levels[params.type] or vim.log.levels.INFO)
  return vim.NIL
end

---@type vim.lsp.Config
return {
  cmd = { 'qwen-lsp' },
  -- Neovim filetypes of the languages the engine parses.
  filetypes = {
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'rust', 'java',
    'c', 'cpp', 'cs', 'ruby', 'php', 'kotlin', 'sh', 'bash', 'lua',
  },
  root_markers = {
    '.git', 'pyproject.toml', 'package.json', 'go.mod', 'Cargo.toml', 'pom.xml', 'build.gradle',
  },
  handlers = { ['window/showMessage'] = show_message },
}
