--- qwen: repository-level Qwen3-Coder completions and code actions in Neovim, through the qwen-lsp server.
---
--- `require('qwen').setup{}` registers qwen-lsp (`vim.lsp.config` + `vim.lsp.enable`), turns on native
--- inline completion on Neovim 0.12 (`vim.lsp.inline_completion`) with keymaps to accept, cycle and dismiss,
--- falls back to completion items (`vim.lsp.completion`) on 0.11, and adds `:QwenActions`, `:QwenToggle` and
--- `:QwenPrompt`.
local M = {}

---@class qwen.Keymaps Insert-mode keys, set in buffers qwen-lsp attaches to; `false` leaves a key alone.
---@field accept string|false Accept the shown suggestion (falls back to the key itself when none is shown).
---@field next string|false Show the next suggestion.
---@field prev string|false Show the previous suggestion.
---@field dismiss string|false Hide the suggestion (falls back to the key itself when none is shown).

---@class qwen.Options
---@field cmd? string[] The server command (default `{ 'qwen-lsp' }`, from lsp/qwen.lua).
---@field filetypes? string[] Filetypes to attach to (default: every language qwen-lsp parses).
---@field root_markers? string[] Files marking the project root the server indexes.
---@field settings? table qwen-lsp options, sent as `initializationOptions`:
---   `model = { preset, base_url, model }`, `budget`, `debounce_ms`, `languages`, `completion`, `actions`.
---@field inline? boolean Native inline completion (Neovim 0.12+).
---@field completion? { autotrigger: boolean } Completion items, used where inline completion is unavailable.
---@field keymaps? qwen.Keymaps

---@type qwen.Options
M.defaults = {
  settings = {},
  inline = true,
  completion = { autotrigger = true },
  keymaps = { accept = '<Tab>', next = '<M-]>', prev = '<M-[>', dismiss = '<C-]>' },
}

--- The options that go to `vim.lsp.config('qwen', ...)` as they are.
local SERVER_FIELDS = { 'cmd', 'filetypes', 'root_markers' }

--- What `:QwenActions {name}` matches in an action's title, for command-line completion.
local ACTION_NAMES = { 'explain', 'docstring', 'refactor', 'fix', 'tests', 'review' }

-- From a checkout of qwen-context: no package of that name is published.
local INSTALL = 'pipx install /path/to/qwen-context'

---@param client vim.lsp.Client?
local function is_qwen(client)
  return client ~= nil and client.name == 'qwen'
end

--- An insert-mode key that runs `action` and, when `action` returns false, types the key itself.
---@param bufnr integer
---@param lhs string|false
---@param desc string
---@param action fun(): boolean
local function map_with_fallback(bufnr, lhs, desc, action)
  if lhs then
    vim.keymap.set('i', lhs, function()
      return action() and '' or lhs
    end, { buffer = bufnr, expr = true, desc = desc })
  end
end

---@param bufnr integer
---@param keys qwen.Keymaps
local function map_inline_keys(bufnr, keys)
  local inline = vim.lsp.inline_completion
  map_with_fallback(bufnr, keys.accept, 'Qwen: accept the suggestion', function()
    return inline.get({ bufnr = bufnr })
  end)
  map_with_fallback(bufnr, keys.dismiss, 'Qwen: dismiss the suggestion', function()
    -- `get` with an `on_accept` that returns nil hides the suggestion without inserting it.
    return inline.get({ bufnr = bufnr, on_accept = function() end })
  end)
  for _, step in ipairs({ { keys.next, 1, 'next' }, { keys.prev, -1, 'previous' } }) do
    local lhs, count, which = step[1], step[2], step[3]
    if lhs then
      vim.keymap.set('i', lhs, function()
        inline.select({ bufnr = bufnr, count = count })
      end, { buffer = bufnr, desc = ('Qwen: %s suggestion'):format(which) })
    end
  end
end

--- Neovim 0.11 inserts only the first word of a plain-text completion item (up to its first space) and leaves
--- the rest of the item's edit unapplied; when a qwen item is picked, this puts in the whole suggestion.
---@param client vim.lsp.Client
---@param bufnr integer
local function complete_whole_suggestion(client, bufnr)
  vim.api.nvim_create_autocmd('CompleteDone', {
    group = vim.api.nvim_create_augroup(('qwen.complete.%d'):format(bufnr), { clear = true }),
    buffer = bufnr,
    desc = 'Qwen: insert the whole suggestion of a completion item',
    callback = function()
      local completed = vim.v.completed_item
      local origin = vim.tbl_get(completed, 'user_data', 'nvim', 'lsp') or {}
      local edit = vim.tbl_get(origin, 'completion_item', 'textEdit')
      if origin.client_id ~= client.id or edit == nil or edit.newText == completed.word then
        return
      end
      local row, col = unpack(vim.api.nvim_win_get_cursor(0))
      local start = col - #completed.word
      if vim.api.nvim_buf_get_text(bufnr, row - 1, start, row - 1, col, {})[1] ~= completed.word then
        return
      end
      local lines = vim.split(edit.newText, '\n', { plain = true })
      vim.api.nvim_buf_set_text(bufnr, row - 1, start, row - 1, col, lines)
      local last = row - 1 + #lines
      vim.api.nvim_win_set_cursor(0, { last, (#lines == 1 and start or 0) + #lines[#lines] })
    end,
  })
end

--- Turn on suggestions for a buffer qwen-lsp attached to: inline on 0.12, completion items otherwise.
---@param client vim.lsp.Client
---@param bufnr integer
---@param config qwen.Options
local function on_attach(client, bufnr, config)
  if config.inline and vim.lsp.inline_completion ~= nil then
    vim.lsp.inline_completion.enable(true, { client_id = client.id })
    map_inline_keys(bufnr, config.keymaps)
  elseif client:supports_method('textDocument/completion', bufnr) then
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = config.completion.autotrigger })
    complete_whole_suggestion(client, bufnr)
  end
end

--- The code-action filter of `:QwenActions`: qwen-lsp's actions, those whose title contains `name` if given.
---@param name string
local function action_filter(name)
  local wanted = name:lower()
  return function(action, client_id)
    return is_qwen(vim.lsp.get_client_by_id(client_id)) and action.title:lower():find(wanted, 1, true) ~= nil
  end
end

--- `:[range]QwenActions [name]`: pick one of qwen-lsp's code actions for the cursor or the lines; with a name
--- (explain, docstring, refactor, fix, tests, review) the single matching action is applied at once.
---@param args vim.api.keyset.create_user_command.command_args
local function qwen_actions(args)
  local range = nil
  if args.range > 0 then
    local last = vim.api.nvim_buf_get_lines(0, args.line2 - 1, args.line2, false)[1] or ''
    range = { start = { args.line1, 0 }, ['end'] = { args.line2, math.max(#last - 1, 0) } }
  end
  vim.lsp.buf.code_action({ filter = action_filter(args.args), apply = args.args ~= '', range = range })
end

--- `:QwenToggle`: inline suggestions off or on for every qwen-lsp client.
local function qwen_toggle()
  if vim.lsp.inline_completion == nil then
    vim.notify('qwen: inline completion needs Neovim 0.12; use <C-x><C-o> for items', vim.log.levels.WARN)
    return
  end
  for _, client in ipairs(vim.lsp.get_clients({ name = 'qwen' })) do
    local enable = not vim.lsp.inline_completion.is_enabled({ client_id = client.id })
    vim.lsp.inline_completion.enable(enable, { client_id = client.id })
    vim.notify(('qwen: inline suggestions %s'):format(enable and 'on' or 'off'))
  end
end

--- `:QwenPrompt`: the prompt qwen-lsp would send for the cursor, in a scratch window, to see what the model
--- sees. `qwen-context prompt` (installed beside qwen-lsp) builds it from the same index and unsaved buffer.
---@param config qwen.Options
local function qwen_prompt(config)
  local client = vim.lsp.get_clients({ name = 'qwen', bufnr = 0 })[1]
  local file = vim.api.nvim_buf_get_name(0)
  local relative = client and client.root_dir and vim.fs.relpath(client.root_dir, file)
  if client == nil or relative == nil then
    vim.notify('qwen: open a file of a project qwen-lsp serves first', vim.log.levels.WARN)
    return
  end
  local server = type(client.config.cmd) == 'table' and vim.fn.exepath(client.config.cmd[1]) or ''
  local cli = vim.fs.joinpath(vim.fs.dirname(server), 'qwen-context')
  local buffer = vim.fn.tempname()
  vim.fn.writefile(vim.api.nvim_buf_get_lines(0, 0, -1, false), buffer)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local column = vim.str_utfindex(vim.api.nvim_get_current_line(), 'utf-32', col, false) + 1
  local args = { cli, 'prompt', '--repo', client.root_dir, '--buffer', buffer }
  if config.settings.budget then
    vim.list_extend(args, { '--budget', tostring(config.settings.budget) })
  end
  table.insert(args, ('%s:%d:%d'):format(relative, row, column))
  vim.system(args, { text = true }, vim.schedule_wrap(function(done)
    os.remove(buffer)
    if done.code ~= 0 then
      vim.notify(('qwen: %s failed: %s'):format(cli, done.stderr), vim.log.levels.ERROR)
      return
    end
    vim.cmd.new()
    local scratch = vim.api.nvim_get_current_buf()
    vim.bo[scratch].buftype, vim.bo[scratch].bufhidden, vim.bo[scratch].swapfile = 'nofile', 'wipe', false
    vim.api.nvim_buf_set_name(scratch, 'qwen://prompt/' .. relative)
    vim.api.nvim_buf_set_lines(scratch, 0, -1, false, vim.split(done.stdout, '\n', { plain = true }))
    vim.bo[scratch].modifiable = false
  end))
end

--- Register and enable qwen-lsp. Returns false (after telling the user why) when it cannot run.
---@param opts? qwen.Options
---@return boolean
function M.setup(opts)
  if vim.fn.has('nvim-0.11') == 0 then
    vim.notify('qwen: Neovim 0.11 or newer is required', vim.log.levels.ERROR)
    return false
  end
  local config = vim.tbl_deep_extend('force', M.defaults, opts or {})
  -- An empty Lua table would reach the server as a JSON list, not an object: send nothing instead.
  local server = { init_options = next(config.settings) ~= nil and config.settings or nil }
  for _, field in ipairs(SERVER_FIELDS) do
    server[field] = config[field]
  end
  vim.lsp.config('qwen', server)

  local cmd = vim.lsp.config.qwen.cmd
  if cmd == nil then
    vim.notify("qwen: no server command; put the plugin on 'runtimepath' or pass cmd", vim.log.levels.ERROR)
    return false
  end
  if type(cmd) == 'table' and vim.fn.executable(cmd[1]) == 0 then
    local hint = 'qwen: %s not found; install it with `%s` or pass cmd = { "/path/to/qwen-lsp" }'
    vim.notify(hint:format(cmd[1], INSTALL), vim.log.levels.ERROR)
    return false
  end

  vim.api.nvim_create_autocmd('LspAttach', {
    group = vim.api.nvim_create_augroup('qwen', { clear = true }),
    desc = 'Qwen: suggestions and keymaps in buffers qwen-lsp attaches to',
    callback = function(event)
      local client = vim.lsp.get_client_by_id(event.data.client_id)
      if client ~= nil and is_qwen(client) then
        on_attach(client, event.buf, config)
      end
    end,
  })
  vim.api.nvim_create_user_command('QwenActions', qwen_actions, {
    nargs = '?',
    range = true,
    complete = function()
      return ACTION_NAMES
    end,
    desc = "Qwen: code actions for the cursor or lines (explain, docstring, refactor, fix, tests, review)",
  })
  vim.api.nvim_create_user_command('QwenToggle', qwen_toggle, { desc = 'Qwen: inline suggestions on/off' })
  vim.api.nvim_create_user_command('QwenPrompt', function()
    qwen_prompt(config)
  end, { desc = 'Qwen: show the prompt for the cursor' })
  vim.lsp.enable('qwen')
  return true
end

return M
