"""The streamable HTTP transport: loopback only, and nothing answers without the bearer token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_support import call

from context.errors import ConfigError
from mcp_server.http import parse_loopback
from tests.ports import free_port

QWEN_MCP = str(Path(sys.executable).with_name("qwen-mcp"))
TOKEN = "test-token-0123456789"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"qwen-mcp did not listen on {port}")


def _serve_http(repo: Path, port: int, env: dict[str, str], stdout: int) -> subprocess.Popen[bytes]:
    """Start qwen-mcp over HTTP on ``port`` and wait until it listens (stderr is piped, for the token line)."""
    process = subprocess.Popen(
        [QWEN_MCP, "--root", str(repo), "--no-watch", "--http", f"127.0.0.1:{port}"],
        env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, process)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    return process


@pytest.fixture
def http_server(repo: Path) -> Iterator[str]:
    """qwen-mcp serving `repo` over HTTP on a free loopback port with a known token; its endpoint URL."""
    port = free_port()
    process = _serve_http(repo, port, {**os.environ, "QWEN_MCP_TOKEN": TOKEN}, stdout=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_a_request_without_the_token_is_refused(http_server: str) -> None:
    response = httpx2.post(http_server, json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_request_with_a_wrong_token_is_refused(http_server: str) -> None:
    for value in (f"Bearer {TOKEN}x", "Bearer", TOKEN, f"Basic {TOKEN}"):
        response = httpx2.post(http_server, json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": value})
        assert response.status_code == 401, value


async def test_a_client_with_the_token_uses_the_tools(http_server: str) -> None:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
    async with http, Client(streamable_http_client(http_server, http_client=http)) as client:
        assert len((await client.list_tools()).tools) == 11
        found = await call(client, "search_symbols", {"query": "make_user"})
    assert found["symbols"][0]["path"] == "app/models.py"


@pytest.mark.parametrize("address", ["0.0.0.0:8765", "192.168.1.10:8765", "example.org:8765", "8765"])
def test_http_refuses_to_listen_beyond_loopback(repo: Path, address: str) -> None:
    done = subprocess.run(
        [QWEN_MCP, "--root", str(repo), "--http", address],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "qwen-mcp: error:" in done.stderr and "Traceback" not in done.stderr


def test_a_token_is_generated_and_shown_when_none_is_set(repo: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "QWEN_MCP_TOKEN"}
    process = _serve_http(repo, free_port(), env, stdout=subprocess.PIPE)
    process.terminate()
    out, err = process.communicate(timeout=10)
    token_line = next(line for line in err.decode().splitlines() if "Authorization: Bearer" in line)
    assert len(token_line.rsplit(" ", 1)[-1].strip("'")) >= 32
    assert out == b""


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("localhost:80", ("localhost", 80)),
        ("[::1]:9000", ("::1", 9000)),
    ],
)
def test_loopback_addresses_are_accepted(address: str, expected: tuple[str, int]) -> None:
    assert parse_loopback(address) == expected


@pytest.mark.parametrize(
    "address", ["[::]:8765", "10.0.0.1:80", "127.0.0.1:0", "127.0.0.1:http", "localhost"]
)
def test_other_addresses_are_refused_with_a_hint(address: str) -> None:
    with pytest.raises(ConfigError, match="--http"):
        parse_loopback(address)
