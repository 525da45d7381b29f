"""The Neovim plugin in a real Neovim 0.12 against the real qwen-lsp and the local OpenAI-compatible server.

A user's session, end to end: `require('qwen').setup{}` registers and starts qwen-lsp, the workspace is indexed
(`$/progress`), typing shows the model's suggestion as inline ghost text, <Tab> accepts it into the buffer, and
`:QwenActions docstring` applies the model's rewrite. The buffer must end up holding the fake model's text.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from neovim_driver import EDITORS, Neovim, isolated_env

from context.fakeserver import FakeOpenAIServer, RecordedRequest

COMPLETION = "rectangle_area(w, h) for w, h in sizes)"
DOCSTRING = '"""Sum of the areas of the (width, height) pairs in sizes."""'

INIT_LUA = """
vim.opt.runtimepath:prepend(vim.env.QWEN_PLUGIN)
vim.g.qwen_progress = {}
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(event)
    local value = event.data.params.value
    if value.kind == 'end' then vim.g.qwen_indexed = true end
  end,
})
vim.g.qwen_setup = require('qwen').setup({
  settings = { model = { base_url = vim.env.QWEN_TEST_BASE_URL, model = 'qwen3-coder' }, debounce_ms = 0 },
})
"""

GEOMETRY = '''\
def rectangle_area(width: float, height: float) -> float:
    """Area of a width x height rectangle."""
    return width * height
'''

MAIN = """\
from geometry import rectangle_area


def total_area(sizes):
    return\x20"""


def _reply(request: RecordedRequest) -> str:
    """Fill-in-the-middle requests get the completion, chat requests (code actions) the rewritten function."""
    if request.route == "chat":
        code = f"def total_area(sizes):\n    {DOCSTRING}\n    return sum({COMPLETION}\n"
        return f"```python\n{code}```"
    return COMPLETION


def _repository(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "shapes"\n')
    (root / "geometry.py").write_text(GEOMETRY)
    (root / "main.py").write_text(MAIN)
    (root / "init.lua").write_text(INIT_LUA)
    return root


def _ghost_text(editor: Neovim) -> str:
    """The inline suggestion Neovim is showing (virtual text of its inline-completion namespace)."""
    marks = editor.lua(
        "vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_create_namespace('nvim.lsp.inline_completion'), 0, -1, "
        "{ details = true })")
    return "".join(chunk[0] for mark in marks for chunk in mark[3].get("virt_text", []))


def _lines(editor: Neovim) -> list[str]:
    return editor.lua("vim.api.nvim_buf_get_lines(0, 0, -1, false)")


def test_a_suggestion_is_shown_accepted_and_a_code_action_applied_in_neovim(start_neovim, tmp_path: Path) -> None:
    repo = _repository(tmp_path / "shapes")
    with FakeOpenAIServer(_reply) as model:
        env = isolated_env(tmp_path / "home") | {
            "QWEN_PLUGIN": str(EDITORS / "neovim"), "QWEN_TEST_BASE_URL": model.base_url}
        editor = start_neovim(repo, "-u", "init.lua", "main.py", env=env)

        assert editor.lua("vim.g.qwen_setup") is True
        editor.wait_until(lambda: editor.lua("#vim.lsp.get_clients({ name = 'qwen', bufnr = 0 })"), "qwen-lsp to attach")
        editor.wait_until(lambda: editor.lua("vim.g.qwen_indexed == true"), "the index's $/progress to end")

        editor.keys("GAsum(")
        shown = editor.wait_until(lambda: _ghost_text(editor), "the inline suggestion")
        assert COMPLETION.startswith(shown) and shown.endswith("in sizes)")

        editor.keys("<Tab>")
        accepted = f"    return sum({COMPLETION}"
        editor.wait_until(lambda: _lines(editor)[-1] == accepted, "the suggestion in the buffer")
        editor.keys("<Esc>")

        fim = [r for r in model.requests if r.route in ("completions", "infill")]
        assert fim, f"no fill-in-the-middle request reached the model: {[r.route for r in model.requests]}"
        assert "def rectangle_area(width: float, height: float)" in json.dumps(fim[-1].body), (
            "the prompt lacks the definition from geometry.py")

        editor.keys(":QwenActions docstring<CR>")
        editor.wait_until(lambda: f"    {DOCSTRING}" in _lines(editor), "the docstring action's edit")
        lines = _lines(editor)
        function = lines.index("def total_area(sizes):")
        assert lines[function:function + 3] == ["def total_area(sizes):", f"    {DOCSTRING}", accepted]
        assert any(r.route == "chat" for r in model.requests)


def test_setup_explains_how_to_install_a_missing_server(start_neovim, tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    (repo / "init.lua").write_text(textwrap.dedent("""
        vim.opt.runtimepath:prepend(vim.env.QWEN_PLUGIN)
        vim.g.qwen_setup = require('qwen').setup({ cmd = { 'qwen-lsp-not-installed' } })
    """))
    env = isolated_env(tmp_path / "home") | {"QWEN_PLUGIN": str(EDITORS / "neovim")}
    editor = start_neovim(repo, "-u", "init.lua", env=env)
    assert editor.lua("vim.g.qwen_setup") is False
    messages = editor.lua("vim.api.nvim_exec2('messages', { output = true }).output")
    assert "qwen-lsp-not-installed not found" in messages
    assert "pip install qwen-context" in messages
