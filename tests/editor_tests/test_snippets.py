"""Every configuration snippet under editors/ parses and starts the right server with the right arguments.

The LSP snippets (Helix, Emacs, Neovim, Zed, VS Code) must all launch `qwen-lsp` with options the server's own
validator (`lsp_server.options.parse_options`) accepts without a complaint. The MCP client files and the
one-line `claude mcp add` command must all launch `qwen-mcp --root <the project>`, and that command line is
then started for real and asked for its tools over stdio.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from elisp import Str, find_call, keywords, read_forms
from mcp import Client, StdioServerParameters
from neovim_driver import EDITORS, isolated_env

from context.index.languages import LANGUAGES
from lsp_server.options import ModelOptions, ServerOptions, parse_options

MCP_CLIENTS = EDITORS / "mcp-clients"
#: What a user replaces with the project's absolute path (Cline's settings are global, not per project).
PROJECT_PLACEHOLDER = "/absolute/path/to/your/project"


def assert_valid_options(options: Any) -> None:
    """The real server validator takes the options without ignoring any of them."""
    parsed, problems = parse_options(options)
    assert problems == [], problems
    assert isinstance(parsed, ServerOptions)


# ---- LSP: Helix --------------------------------------------------------------------------------------------

HELIX_NAMES = {
    "python": {"python"},
    "javascript": {"javascript", "jsx"},
    "typescript": {"typescript"},
    "tsx": {"tsx"},
    "csharp": {"c-sharp"},
    "bash": {"bash"},
}


def test_the_helix_snippet_runs_qwen_lsp_for_every_language_the_engine_parses() -> None:
    config = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text())
    server = config["language-server"]["qwen"]
    assert [server["command"], *server["args"]] == ["qwen-lsp"]
    assert_valid_options(server["config"])
    languages = {language["name"]: language["language-servers"] for language in config["language"]}
    assert all(servers[-1] == "qwen" for servers in languages.values()), languages
    wanted = set().union(*(HELIX_NAMES.get(name, {name}) for name in LANGUAGES))
    assert wanted == set(languages)


# ---- LSP: Emacs --------------------------------------------------------------------------------------------


def test_the_emacs_client_is_an_lsp_mode_add_on_running_qwen_lsp_with_known_options() -> None:
    forms: list[Any] = read_forms((EDITORS / "emacs" / "qwen.el").read_text())
    client = keywords(find_call(forms, "make-lsp-client"))
    assert client[":server-id"] == "qwen-lsp" and client[":add-on?"] == "t"
    assert client[":new-connection"] == ["lsp-stdio-connection", ["lambda", [], "qwen-server-command"]]
    command = next(form for form in forms if form[:2] == ["defcustom", "qwen-server-command"])
    assert command[2] == [Str("qwen-lsp")]

    builder = next(form for form in forms if form[:2] == ["defun", client[":initialization-options"]])
    sent = {atom[1:] for atom in _atoms(builder) if isinstance(atom, str) and atom.startswith(":")}
    known = set(ServerOptions.model_fields) | set(ModelOptions.model_fields)
    assert sent and sent <= known, sent - known
    assert ["provide", "qwen"] in forms


def _atoms(form: Any) -> list[Any]:
    return [atom for item in form for atom in (_atoms(item) if isinstance(item, list) else [item])]


# ---- LSP: Zed ----------------------------------------------------------------------------------------------


def test_the_zed_extension_declares_qwen_lsp_for_the_languages_the_settings_configure() -> None:
    extension = tomllib.loads((EDITORS / "zed" / "extension.toml").read_text())
    settings = json.loads((EDITORS / "zed" / "settings.json").read_text())
    declared = extension["language_servers"]
    assert list(declared) == ["qwen-lsp"] == list(settings["lsp"])
    assert set(declared["qwen-lsp"]["languages"]) == set(settings["languages"])
    assert all(entry["language_servers"] == ["...", "qwen-lsp"] for entry in settings["languages"].values())
    assert_valid_options(settings["lsp"]["qwen-lsp"]["initialization_options"])
    source = (EDITORS / "zed" / "src" / "lib.rs").read_text()
    assert 'const SERVER: &str = "qwen-lsp";' in source and "worktree.which(SERVER)" in source
    cargo = tomllib.loads((EDITORS / "zed" / "Cargo.toml").read_text())
    assert cargo["lib"]["crate-type"] == ["cdylib"] and "zed_extension_api" in cargo["dependencies"]


# ---- LSP: VS Code ------------------------------------------------------------------------------------------


def test_the_vscode_extension_defaults_to_qwen_lsp_and_contributes_every_mapped_setting() -> None:
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    assert (
        properties["qwen.serverPath"]["default"] == "qwen-lsp"
        and properties["qwen.serverArgs"]["default"] == []
    )
    mapped = re.findall(
        r'^\s+"?([\w.]+)"?: \[', (EDITORS / "vscode" / "src" / "settings.ts").read_text(), re.MULTILINE
    )
    assert mapped and {f"qwen.{name}" for name in mapped} <= set(properties)
    assert manifest["dependencies"]["vscode-languageclient"].startswith("^10.")
    assert manifest["engines"]["vscode"] == "^1.91.0"


# ---- LSP: Neovim -------------------------------------------------------------------------------------------

NEOVIM_LUA = ["lsp/qwen.lua", "lua/qwen/init.lua"]


def test_the_neovim_lua_files_compile_and_the_server_config_runs_qwen_lsp(nvim: str, tmp_path: Path) -> None:
    script = tmp_path / "check.lua"
    script.write_text(
        "local root = assert(arg[1])\n"
        f"for _, file in ipairs({{ '{NEOVIM_LUA[0]}', '{NEOVIM_LUA[1]}' }}) do\n"
        "  assert(loadfile(root .. '/' .. file))\n"
        "end\n"
        "local config = dofile(root .. '/lsp/qwen.lua')\n"
        "config.handlers = vim.tbl_keys(config.handlers or {})  -- functions: their names only\n"
        "io.stdout:write(vim.json.encode(config))\n"
    )
    done = subprocess.run(
        [nvim, "--headless", "--clean", "-l", str(script), str(EDITORS / "neovim")],
        capture_output=True,
        text=True,
        timeout=60,
        env=isolated_env(tmp_path / "home"),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert config["cmd"] == ["qwen-lsp"] and config["handlers"] == ["window/showMessage"]
    assert {"python", "go", "rust", "typescript", "typescriptreact", "lua"} <= set(config["filetypes"])


# ---- MCP clients -------------------------------------------------------------------------------------------

MCP_FILES = {
    "claude-code.mcp.json": "mcpServers",
    "cline_mcp_settings.json": "mcpServers",
    "qwen-code.settings.json": "mcpServers",
    "cursor.mcp.json": "mcpServers",
    "vscode.mcp.json": "servers",
}


def _as_launched(argv: list[str], project: Path) -> list[str]:
    """The command line as the client runs it in ``project``: its placeholders and "." replaced."""
    replacements = {
        ".": str(project),
        "${workspaceFolder}": str(project),
        "$(pwd)": str(project),
        PROJECT_PLACEHOLDER: str(project),
    }
    return [replacements.get(arg, arg) for arg in argv]


def _claude_command() -> list[str]:
    """The `claude mcp add` line (mcp-clients/claude-code.sh, in editors/README.md) as the shell splits it."""
    line = (MCP_CLIENTS / "claude-code.sh").read_text().strip()
    assert line in (EDITORS / "README.md").read_text().splitlines()
    words = shlex.split(line)
    assert words[:5] == ["claude", "mcp", "add", "qwen", "--"], words
    return words[5:]


@pytest.mark.parametrize("name", list(MCP_FILES))
def test_each_mcp_client_file_starts_qwen_mcp_on_the_project(name: str, tmp_path: Path) -> None:
    config = json.loads((MCP_CLIENTS / name).read_text())
    assert list(config[MCP_FILES[name]]) == ["qwen"]
    server = config[MCP_FILES[name]]["qwen"]
    assert server.get("type", "stdio") == "stdio"
    argv = [server["command"], *server["args"]]
    assert _as_launched(argv, tmp_path) == ["qwen-mcp", "--root", str(tmp_path)]


def test_the_claude_mcp_add_line_starts_qwen_mcp_on_the_current_folder(tmp_path: Path) -> None:
    assert _as_launched(_claude_command(), tmp_path) == ["qwen-mcp", "--root", str(tmp_path)]


async def test_the_configured_mcp_command_line_serves_the_tools_over_stdio(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "shapes.py").write_text("def area(width, height):\n    return width * height\n")
    command, *args = _as_launched(_claude_command(), project)
    env = isolated_env(tmp_path / "home")
    server = StdioServerParameters(command=command, args=args, env=env, cwd=str(project))
    async with Client(server, read_timeout_seconds=60) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"repo_map", "search_symbols", "complete_code", "ask_qwen", "index_status"} <= tools
        found = await client.call_tool("search_symbols", {"query": "area"})
        assert not found.is_error and "shapes.py" in json.dumps(found.structured_content)
