"""Raw JSON-RPC lines against the real `qwen-mcp` process over stdio: what a broken or hasty client sends."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

QWEN_MCP = str(Path(sys.executable).with_name("qwen-mcp"))
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mcp_repo"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


class RawClient:
    """A qwen-mcp process fed JSON lines; answers read with a deadline."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [QWEN_MCP, "--root", str(root), "--no-watch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        self._buffer = b""

    def send(self, line: str | dict[str, Any]) -> None:
        text = line if isinstance(line, str) else json.dumps(line)
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        self.process.stdin.flush()

    def receive(self, timeout: float = 30.0) -> dict[str, Any]:
        """The next message from the server (notifications included)."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            assert ready, f"no answer within {timeout} s"
            chunk = os.read(fd, 65536)
            assert chunk, "the server closed its output"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def answer_to(self, request_id: int | None) -> dict[str, Any]:
        """The response with ``request_id``, skipping notifications."""
        while True:
            message = self.receive()
            if "id" in message and message["id"] == request_id:
                return message

    def initialize(self) -> dict[str, Any]:
        self.send(INITIALIZE)
        answer = self.answer_to(1)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[RawClient]:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    client = RawClient(root)
    yield client
    client.close()


def test_invalid_json_is_answered_with_a_parse_error_and_the_server_goes_on(raw: RawClient) -> None:
    raw.send("{this is not json")
    error = raw.receive()
    assert error["id"] is None and error["error"]["code"] == -32700
    raw.send("[1, 2]")
    error = raw.receive()
    assert error["id"] is None and error["error"]["code"] == -32600
    assert raw.initialize()["result"]["serverInfo"]["name"] == "qwen-context"


def test_a_request_before_initialize_is_told_the_server_is_not_initialized(raw: RawClient) -> None:
    raw.send({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
    error = raw.answer_to(7)["error"]
    assert "not initialized" in error["message"] and "initialize" in error["message"]
    raw.initialize()
    raw.send({"jsonrpc": "2.0", "id": 8, "method": "tools/list"})
    assert len(raw.answer_to(8)["result"]["tools"]) == 11


def test_the_server_reports_the_package_version(raw: RawClient) -> None:
    info = raw.initialize()["result"]["serverInfo"]
    assert info["version"] == version("qwen-context")


def test_the_command_line_prints_the_version() -> None:
    done = subprocess.run([QWEN_MCP, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and version("qwen-context") in done.stdout
