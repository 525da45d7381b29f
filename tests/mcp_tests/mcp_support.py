"""Helpers of the qwen-mcp tests: planted secrets and escapes, tool calls that must succeed or fail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from context.prompt import tokens
from mcp_server.server import build_server
from mcp_server.workspace import ServerSettings

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mcp_repo"

#: The secret value in the fixture's app/service.py; no tool may ever return it.
FIXTURE_SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
#: Text inside the secret files and the file outside the root that the tests plant.
PLANTED = ("hunter2-planted", "PLANTED-PRIVATE-KEY", "OUTSIDE-THE-ROOT")

#: What the fake model answers.
COMPLETION = "return user.display_name()"
ANSWER = "make_user builds the address from the name: name@example.org."


def plant_secrets_and_escapes(root: Path, outside: Path) -> None:
    """Add secret files and symlinks that lead out of `root` (to `outside`, which holds a file)."""
    outside.mkdir()
    (outside / "stolen.py").write_text(f"STOLEN = '{PLANTED[2]}'\n")
    (root / ".env").write_text(f"DATABASE_PASSWORD={PLANTED[0]}\n")
    (root / ".env.production").write_text(f"API_KEY={PLANTED[0]}\n")
    (root / "id_rsa").write_text(
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PLANTED[1]}\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    (root / "certs").mkdir()
    (root / "certs" / "server.pem").write_text(
        f"-----BEGIN PRIVATE KEY-----\n{PLANTED[1]}\n-----END PRIVATE KEY-----\n"
    )
    (root / "credentials.json").write_text(json.dumps({"password": PLANTED[0]}))
    (root / ".npmrc").write_text(f"//registry.npmjs.org/:_authToken={PLANTED[0]}\n")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "stolen_link.py").symlink_to(outside / "stolen.py")


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; its structured result."""
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def call_capped(client: Client, tool: str, arguments: dict[str, Any], cap: int) -> dict[str, Any]:
    """Call a tool that must succeed with a result of at most `cap` tokens as the client receives it."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    sent = " ".join(getattr(block, "text", "") for block in result.content)
    assert tokens.count(sent) <= cap
    assert result.structured_content is not None
    return result.structured_content


async def call_error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """Call a tool that must fail; the error text the model reads."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


def unsaved_service(root: Path) -> str:
    """app/service.py as an editor holds it while line 17 (`return user.display_name()`) is retyped."""
    lines = (root / "app" / "service.py").read_text().split("\n")
    lines[16] = "        "
    return "\n".join(lines)


@asynccontextmanager
async def connected(root: Path, **settings: Any) -> AsyncIterator[Client]:
    """An MCP client connected in memory to a qwen-mcp server on `root` (not watching files unless asked)."""
    async with Client(build_server(ServerSettings(root=root, **{"watch": False, **settings}))) as client:
        yield client
