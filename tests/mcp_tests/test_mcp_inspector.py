"""An external client: the MCP Inspector CLI (npm, pinned in package.json) lists the tools and calls two."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
QWEN_MCP = str(Path(sys.executable).with_name("qwen-mcp"))

INSPECTOR = HERE / "node_modules" / "@modelcontextprotocol" / "inspector"


@pytest.fixture(autouse=True)
def inspector_installed(client: Callable[[str | None, str, str], str]) -> None:
    """node's npx and the pinned MCP Inspector (skipped without them, failed under CI=true)."""
    client(shutil.which("npx"), "node's npx", "install Node.js 20+")
    client(str(INSPECTOR) if INSPECTOR.is_dir() else None, "MCP Inspector",
           "run `npm ci` in tests/mcp_tests (.ci/run does it)")


def run_inspector(root: Path, *method: str) -> subprocess.CompletedProcess[str]:
    """Run `npx mcp-inspector --cli qwen-mcp --root ROOT ...` (with the test's cache)."""
    cache = f"QWEN_CONTEXT_CACHE_DIR={os.environ['QWEN_CONTEXT_CACHE_DIR']}"
    server = [QWEN_MCP, "--root", str(root), "--no-watch"]
    command = ["npx", "--no-install", "mcp-inspector", "--cli", "-e", cache, *server]
    env = {**os.environ, "NODE_NO_WARNINGS": "1"}
    return subprocess.run(
        [*command, *method], cwd=HERE, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def inspector(root: Path, *method: str) -> dict:
    """The JSON output of an Inspector call that must succeed."""
    done = run_inspector(root, *method)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_inspector_lists_the_eleven_tools(repo: Path) -> None:
    listed = inspector(repo, "--method", "tools/list")
    assert {tool["name"] for tool in listed["tools"]} >= {
        "repo_map",
        "search_symbols",
        "ask_qwen",
        "index_status",
    }
    assert len(listed["tools"]) == 11


def test_the_inspector_calls_search_symbols_and_read_code(repo: Path) -> None:
    found = inspector(
        repo, "--method", "tools/call", "--tool-name", "search_symbols", "--tool-arg", "query=make_user"
    )
    assert found["structuredContent"]["symbols"][0]["path"] == "app/models.py"
    code = inspector(
        repo,
        "--method",
        "tools/call",
        "--tool-name",
        "read_code",
        "--tool-arg",
        "path=app/models.py",
        "start_line=18",
        "end_line=18",
    )
    assert code["structuredContent"]["text"] == "def make_user(name: str) -> User:"


def test_the_inspector_reads_the_refusal_of_a_path_out_of_the_root_in_a_prompt(repo: Path) -> None:
    done = run_inspector(
        repo, "--method", "prompts/get", "--prompt-name", "explain", "--prompt-args", "path=../outside/x.py"
    )
    assert done.returncode != 0
    said = done.stdout + done.stderr  # the Inspector prints a failed call's error on stderr
    assert "leads out of the workspace" in said and "Internal" not in said, said[-2000:]
