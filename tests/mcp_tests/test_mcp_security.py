"""Path safety and secrets: every attempt to read outside the root or a secret file is refused, through every
tool that takes a path, and no secret value ever appears in a tool's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError
from mcp_support import FIXTURE_SECRET, PLANTED, call, call_error, connected

ESCAPES = [
    # parent directories
    "../outside/stolen.py",
    "../../../../../../etc/passwd",
    "app/../../outside/stolen.py",
    "app/../../../etc/hostname",
    "./../outside/stolen.py",
    "app/./../../outside/stolen.py",
    "..",
    "../",
    # absolute paths, home directories, URLs
    "/etc/passwd",
    "/etc/shadow",
    "/proc/self/environ",
    "//etc/passwd",
    "~/.ssh/id_rsa",
    "~root/.bashrc",
    "~",
    "file:///etc/passwd",
    # encoded separators and dots
    "..%2f..%2fetc%2fpasswd",
    "..%2Foutside%2Fstolen.py",
    "%2e%2e/outside/stolen.py",
    "app%2f..%2f..%2foutside%2fstolen.py",
    "..%5coutside%5cstolen.py",
    "%2fetc%2fpasswd",
    "..\\outside\\stolen.py",
    # NUL bytes
    "app/models.py\x00.txt",
    "\x00../outside/stolen.py",
    "../outside/stolen.py\x00",
    # symlinks that lead out of the root
    "escape/stolen.py",
    "stolen_link.py",
    "app/../escape/stolen.py",
    # secret files
    ".env",
    ".env.production",
    "./.env",
    "app/../.env",
    "id_rsa",
    "certs/server.pem",
    "credentials.json",
    ".npmrc",
]


def _assert_nothing_leaked(text: str) -> None:
    for planted in (*PLANTED, FIXTURE_SECRET, "root:x:0:0"):
        assert planted not in text


def test_there_are_at_least_thirty_escape_attempts() -> None:
    assert len(set(ESCAPES)) == len(ESCAPES) >= 30


async def test_every_escape_attempt_through_read_code_is_refused(repo: Path) -> None:
    answered = {}
    async with connected(repo) as client:
        for path in ESCAPES:
            result = await client.call_tool("read_code", {"path": path})
            text = " ".join(getattr(block, "text", "") for block in result.content)
            if not result.is_error or any(leak in text for leak in (*PLANTED, FIXTURE_SECRET, "root:x:0:0")):
                answered[path] = text
    assert answered == {}


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("file_outline", {"path": "../outside/stolen.py"}),
        ("file_outline", {"path": "escape/stolen.py"}),
        ("get_definition", {"path": "/etc/passwd", "line": 1}),
        ("get_definition", {"path": "stolen_link.py", "line": 1, "column": 1}),
        ("build_context", {"path": ".env", "line": 1}),
        ("build_context", {"task": "read it", "path": "~/.ssh/id_rsa"}),
        ("repo_map", {"focus_paths": ["app/models.py", "../outside/stolen.py"]}),
        ("ask_qwen", {"question": "what is in it?", "paths": ["id_rsa"]}),
        ("complete_code", {"path": "..%2foutside%2fstolen.py", "line": 1, "column": 1}),
        ("complete_code", {"path": "certs/server.pem", "line": 1, "column": 1}),
    ],
)
async def test_every_tool_taking_a_path_refuses_escapes(
    repo: Path, tool: str, arguments: dict[str, object]
) -> None:
    async with connected(repo) as client:
        message = await call_error(client, tool, arguments)
        _assert_nothing_leaked(message)


async def test_the_refusal_explains_what_paths_are_accepted(repo: Path) -> None:
    async with connected(repo) as client:
        message = await call_error(client, "read_code", {"path": "../outside/stolen.py"})
        assert "workspace" in message.lower() or "root" in message.lower()
        secret = await call_error(client, "read_code", {"path": ".env"})
        assert "secret" in secret.lower()


async def test_the_outline_resource_refuses_escapes(repo: Path) -> None:
    async with connected(repo) as client:
        for uri in (
            "repo://outline/..%2Foutside%2Fstolen.py",
            "repo://outline/.env",
            "repo://outline/escape/stolen.py",
        ):
            with pytest.raises(MCPError) as refused:
                await client.read_resource(uri)
            _assert_nothing_leaked(str(refused.value))


async def test_no_tool_output_contains_a_secret_value(repo: Path) -> None:
    async with connected(repo) as client:
        outputs = [
            await call(client, "read_code", {"path": "app/service.py"}),
            await call(client, "search_symbols", {"query": "API_TOKEN"}),
            await call(client, "get_definition", {"symbol": "API_TOKEN"}),
            await call(client, "file_outline", {"path": "app/service.py"}),
            await call(
                client, "build_context", {"task": "where is API_TOKEN used", "path": "app/service.py"}
            ),
            await call(client, "repo_map", {"focus_paths": ["app/service.py"]}),
            await call(client, "search_symbols", {"query": "DATABASE_PASSWORD"}),
        ]
        for output in outputs:
            _assert_nothing_leaked(json.dumps(output))
        assert (await call(client, "search_symbols", {"query": "STOLEN"}))["symbols"] == []
        assert (
            FIXTURE_SECRET in (repo / "app" / "service.py").read_text()
        )  # the secret is there, and stays hidden
