"""qwen-lsp against a hostile or careless client, as raw JSON-RPC over the real process's stdio: the lifecycle,
invalid params, oversized frames, lone surrogates and documents outside the workspace follow the specification
and never leak a traceback or an absolute path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from context.model.fakeserver import FakeOpenAIServer

QWEN_LSP = str(Path(sys.executable).parent / "qwen-lsp")
FIXTURE = Path(__file__).parents[1] / "fixtures" / "lsp_repo"


class Raw:
    """A qwen-lsp process spoken to byte by byte."""

    def __init__(self, cache: Path) -> None:
        env = {**os.environ, "QWEN_NO_AUTODETECT": "1", "QWEN_CONTEXT_CACHE_DIR": str(cache)}
        self.process = subprocess.Popen([QWEN_LSP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env)
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    def frame(self, payload: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(payload) + payload)
        self.process.stdin.flush()

    def send(self, method: str, params: Any = None, *, request: bool = True) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        self.frame(json.dumps(message).encode())
        return self.next_id if request else None

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        length = 0
        while (line := self.process.stdout.readline()).strip():
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert length, "the server closed its output"
        message: dict[str, Any] = json.loads(self.process.stdout.read(length))
        return message

    def answer(self, msg_id: int | None) -> dict[str, Any]:
        """The response to request ``msg_id`` (requests from the server are answered with null)."""
        while True:
            message = self.read()
            if message.get("id") == msg_id and "method" not in message:
                return message
            if "method" in message and "id" not in message:
                self.notifications.append(message)
            if "method" in message and "id" in message:
                self.frame(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": None}).encode())

    def initialize(self, root: Path | None, **params: Any) -> dict[str, Any]:
        folders = [{"uri": root.as_uri(), "name": root.name}] if root is not None else None
        result = self.answer(self.send("initialize", {"capabilities": {}, "workspaceFolders": folders,
                                                      "initializationOptions": {"debounceMs": 0}, **params}))
        self.send("initialized", {}, request=False)
        return result

    def close(self) -> int:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
        return self.process.wait(timeout=30)


@pytest.fixture
def raw(tmp_path: Path) -> Any:
    server = Raw(tmp_path / "cache")
    yield server
    if server.process.poll() is None:
        server.process.kill()
    server.process.wait()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "repo"))


def assert_clean(error: dict[str, Any]) -> None:
    """An error a client sees: one line, no traceback, no absolute path."""
    assert "data" not in error or "traceback" not in json.dumps(error["data"])
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    assert "/work/" not in error["message"] and "site-packages" not in error["message"]


def test_requests_before_initialize_get_server_not_initialized_and_initialize_still_works(
        raw: Raw, repo: Path) -> None:
    early = raw.answer(raw.send("textDocument/completion", {
        "textDocument": {"uri": (repo / "shop" / "cart.py").as_uri()}, "position": {"line": 0, "character": 0}}))
    assert early["error"]["code"] == -32002
    assert_clean(early["error"])
    refused = raw.answer(raw.send("shutdown"))
    assert refused["error"]["code"] == -32002
    assert "capabilities" in raw.initialize(repo)["result"]


def test_invalid_params_get_32602_and_the_server_keeps_serving(raw: Raw, repo: Path) -> None:
    raw.initialize(repo)
    uri = (repo / "shop" / "cart.py").as_uri()
    bad = raw.answer(raw.send("textDocument/completion", {"textDocument": {"uri": uri},
                                                          "position": {"line": -1, "character": 0}}))
    assert bad["error"]["code"] == -32602
    assert_clean(bad["error"])
    fine = raw.answer(raw.send("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0},
                                                "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}))
    assert "result" in fine


def test_after_shutdown_requests_are_invalid_and_exit_is_0(raw: Raw, repo: Path) -> None:
    raw.initialize(repo)
    assert raw.answer(raw.send("shutdown"))["result"] is None
    late = raw.answer(raw.send("textDocument/codeAction", {}))
    assert late["error"]["code"] == -32600
    raw.send("exit", request=False)
    assert raw.process.wait(timeout=30) == 0


def test_exit_without_shutdown_exits_1(raw: Raw, repo: Path) -> None:
    raw.initialize(repo)
    raw.send("exit", request=False)
    assert raw.process.wait(timeout=30) == 1


def test_an_absurd_content_length_is_refused_without_dying(raw: Raw) -> None:
    assert raw.process.stdin is not None
    raw.process.stdin.write(b"Content-Length: 99999999999999\r\n\r\n{}")
    raw.process.stdin.flush()
    assert raw.close() in (0, 1)  # it ends cleanly at the end of input, no MemoryError
    assert raw.process.stderr is not None
    log = raw.process.stderr.read().decode()
    assert "MemoryError" not in log and "skipped a message" in log


def test_malformed_code_action_data_is_a_clean_error(raw: Raw, repo: Path) -> None:
    raw.initialize(repo)
    answer = raw.answer(raw.send("workspace/executeCommand", {"command": "qwen.apply", "arguments": [["x"]]}))
    assert answer["error"]["code"] == -32602
    assert_clean(answer["error"])


def test_lone_surrogates_are_repaired_and_completions_keep_working(raw: Raw, repo: Path) -> None:
    with FakeOpenAIServer(reply="42") as model:
        raw.initialize(repo, initializationOptions={"debounceMs": 0, "model": {
            "baseUrl": model.base_url, "model": "qwen3-coder"}})
        uri = (repo / "shop" / "cart.py").as_uri()
        opened = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": 'NAME = "LONE"\nvalue = '}}})
        raw.frame(opened.replace("LONE", "\\ud800").encode())  # a lone surrogate, as JSON allows it
        answer = raw.answer(raw.send("textDocument/completion", {
            "textDocument": {"uri": uri}, "position": {"line": 1, "character": 8}}))
    assert "error" not in answer
    assert [item["textEdit"]["newText"] for item in answer["result"]["items"]] == ["42"]


def test_a_document_outside_the_workspace_is_completed_from_its_buffer_alone(
        raw: Raw, repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "neighbour.py").write_text("NEIGHBOUR_SECRET_NAME = 1\n")
    with FakeOpenAIServer(reply="1") as model:
        raw.initialize(repo, initializationOptions={"debounceMs": 0, "model": {
            "baseUrl": model.base_url, "model": "qwen3-coder"}})
        for path in (elsewhere / "probe.py", Path("/etc/qwen-probe.py")):
            raw.send("textDocument/didOpen", {"textDocument": {
                "uri": path.as_uri(), "languageId": "python", "version": 1, "text": "x = 1\ny = "}}, request=False)
            answer = raw.answer(raw.send("textDocument/completion", {
                "textDocument": {"uri": path.as_uri()}, "position": {"line": 1, "character": 4}}))
            assert answer["result"]["items"]
        prompts = [request.body["prompt"] for request in model.requests_to("completions")]
    assert len(prompts) == 2
    assert all("NEIGHBOUR_SECRET_NAME" not in p and "init.d" not in p and "x = 1" in p for p in prompts)
    assert not list((tmp_path / "cache").glob("**/*elsewhere*"))


def test_home_and_system_folders_are_never_indexed(raw: Raw) -> None:
    result = raw.initialize(None, rootUri="file:///etc")
    assert "capabilities" in result["result"]
    raw.answer(raw.send("shutdown"))
    shown = [n["params"]["message"] for n in raw.notifications if n["method"] == "window/showMessage"]
    assert any("will not index" in message for message in shown)


def test_a_50_mb_document_does_not_delay_completions_elsewhere(raw: Raw, repo: Path) -> None:
    with FakeOpenAIServer(reply="42") as model:
        raw.initialize(repo, initializationOptions={"debounceMs": 0, "model": {
            "baseUrl": model.base_url, "model": "qwen3-coder"}})
        cart = (repo / "shop" / "cart.py").as_uri()
        raw.answer(raw.send("textDocument/completion", {"textDocument": {"uri": cart},
                                                        "position": {"line": 1, "character": 0}}))
        big = "value = 1\n" * 5_000_000
        raw.send("textDocument/didOpen", {"textDocument": {"uri": (repo / "big.py").as_uri(), "languageId": "python",
                                                           "version": 1, "text": big}}, request=False)
        started = time.perf_counter()
        answer = raw.answer(raw.send("textDocument/completion", {"textDocument": {"uri": cart},
                                                                 "position": {"line": 1, "character": 0}}))
        elapsed = time.perf_counter() - started
        in_big = raw.answer(raw.send("textDocument/completion", {"textDocument": {"uri": (repo / "big.py").as_uri()},
                                                                 "position": {"line": 4_999_999, "character": 8}}))
    assert answer["result"]["items"] and in_big["result"]["items"]
    assert elapsed < 8, f"a completion elsewhere took {elapsed:.1f} s after a 50 MB didOpen"
