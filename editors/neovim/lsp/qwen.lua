-- The qwen-lsp server configuration that Neovim 0.11+ finds on 'runtimepath' (`:help lsp-config`).
-- With the plugin on 'runtimepath', `vim.lsp.enable('qwen')` alone starts it; `require('qwen').setup{}` adds
-- inline completion, keymaps and commands on top.
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
}
