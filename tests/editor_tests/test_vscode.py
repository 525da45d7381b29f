"""The VS Code extension compiles, passes its unit tests, packs into a .vsix and sends options qwen-lsp takes.

Uses the toolchain `.ci/run` installs with `npm ci` in editors/vscode (no VS Code download): tsc, node's test
runner and @vscode/vsce. Without it the tests are skipped on a developer machine and fail in CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from neovim_driver import EDITORS

from lsp_server.options import parse_options

VSCODE = EDITORS / "vscode"
BIN = VSCODE / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def compiled(client: Callable[[str | None, str, str], str]) -> Path:
    """The extension compiled with tsc (out/), once for this module."""
    client(shutil.which("node"), "node", "install Node.js 20+")
    client(
        str(BIN / "tsc") if (BIN / "tsc").exists() else None,
        "the extension's npm packages",
        "run `npm ci` in editors/vscode (.ci/run does this)",
    )
    done = subprocess.run(
        ["npm", "run", "compile"], cwd=VSCODE, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return VSCODE / "out"


def run_node(script: str, argument: object) -> Any:
    """Run ``script`` with node in the extension's folder, ``argument`` as JSON in argv[1]; its JSON output."""
    done = subprocess.run(["node", "-e", script, json.dumps(argument)], cwd=VSCODE, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_extension_compiles_and_its_unit_tests_pass(compiled: Path) -> None:
    assert (compiled / "extension.js").exists() and (compiled / "settings.js").exists()
    done = subprocess.run(
        ["npm", "test"], cwd=VSCODE, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
    passed = int(done.stdout.split("# pass ")[1].split()[0])
    assert passed >= 10, done.stdout


def test_the_default_settings_become_options_the_server_accepts_unchanged(compiled: Path) -> None:
    """package.json's defaults through the compiled mapping, then through qwen-lsp's own validator."""
    manifest = json.loads((VSCODE / "package.json").read_text())
    defaults = {
        name.removeprefix("qwen."): spec.get("default")
        for name, spec in manifest["contributes"]["configuration"]["properties"].items()
    }
    user = defaults | {"baseUrl": "http://127.0.0.1:8080/v1", "model": "qwen3-coder", "languages": ["python"]}
    script = (
        "const { toServerOptions } = require('./out/settings.js');"
        "const values = JSON.parse(process.argv[1]);"
        "process.stdout.write(JSON.stringify(toServerOptions((name) => values[name])));"
    )
    sent = run_node(script, user)
    options, problems = parse_options(sent)
    assert problems == []
    assert options.model.base_url == "http://127.0.0.1:8080/v1" and options.model.model == "qwen3-coder"
    assert (options.budget, options.debounce_ms, options.inline, options.completion, options.actions) == (
        defaults["budget"],
        defaults["debounceMs"],
        True,
        False,
        True,
    )
    assert options.languages == frozenset({"python"})


def test_show_prompt_runs_the_cli_beside_qwen_lsp_on_the_unsaved_text(compiled: Path, tmp_path: Path) -> None:
    """The compiled command line of "Qwen: Show the Prompt for the Cursor", run for real on a repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "geo.py").write_text("def area(width, height):\n    return width * height\n")
    (repo / "main.py").write_text("from geo import area\n\nprint(ar)\n")
    buffer = tmp_path / "buffer"
    buffer.write_text("from geo import area\n\nprint(are)\n")  # the editor's unsaved text
    request = {
        "root": str(repo),
        "file": str(repo / "main.py"),
        "line": 2,
        "lineText": "print(are)",
        "character": 9,
        "budget": 2048,
        "bufferFile": str(buffer),
    }
    script = (
        "const { cliBeside, promptArguments } = require('./out/prompt.js');"
        "const [server, request] = JSON.parse(process.argv[1]);"
        "process.stdout.write(JSON.stringify([cliBeside(server), ...promptArguments(request)]));"
    )
    server = str(Path(sys.executable).with_name("qwen-lsp"))
    command = run_node(script, [server, request])
    assert command[-1] == "main.py:3:10"
    prompt = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert prompt.returncode == 0, prompt.stderr
    assert "def area(width, height):" in prompt.stdout
    assert "<|fim_prefix|>from geo import area\n\nprint(are<|fim_suffix|>)" in prompt.stdout


def test_the_extension_packs_into_a_vsix_with_its_client_and_runtime_dependency(
    compiled: Path, tmp_path: Path
) -> None:
    vsix = tmp_path / "qwen-context.vsix"
    done = subprocess.run(
        [str(BIN / "vsce"), "package", "--out", str(vsix)],
        cwd=VSCODE,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert vsix.exists()
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert {
        "extension/out/extension.js",
        "extension/out/settings.js",
        "extension/LICENSE.txt",
        "extension/readme.md",
        "extension/node_modules/vscode-languageclient/package.json",
    } <= names
    assert not any(name.startswith(("extension/src/", "extension/out/test/")) for name in names)
    assert manifest["main"] == "./out/extension.js" and manifest["engines"]["vscode"] == "^1.91.0"
