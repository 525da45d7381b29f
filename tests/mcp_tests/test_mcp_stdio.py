"""The real `qwen-mcp` process over stdio, driven by the SDK's stdio client: every tool on the fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp_support import ANSWER, COMPLETION, FIXTURE_SECRET, PLANTED, call, call_error, unsaved_service

from context.model.fakeserver import FakeOpenAIServer, Reply, ToolCall

QWEN_MCP = str(Path(sys.executable).with_name("qwen-mcp"))
FORWARDED_ENV = (
    "QWEN_CONTEXT_CACHE_DIR",
    "QWEN_NO_AUTODETECT",
    "QWEN_BASE_URL",
    "QWEN_MODEL",
    "QWEN_FIM_MODE",
)


def server_process(root: Path, *extra: str) -> StdioServerParameters:
    """How to start qwen-mcp on `root` with the test's cache and model endpoint."""
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    return StdioServerParameters(command=QWEN_MCP, args=["--root", str(root), "--no-watch", *extra], env=env)


async def test_the_qwen_mcp_process_answers_every_tool_over_stdio(
    repo: Path, fake_model: FakeOpenAIServer
) -> None:
    async with Client(server_process(repo), read_timeout_seconds=60) as client:
        assert len((await client.list_tools()).tools) == 11

        symbols = await call(client, "search_symbols", {"query": "make_user"})
        assert (symbols["symbols"][0]["path"], symbols["symbols"][0]["line"]) == ("app/models.py", 18)

        definition = await call(
            client, "get_definition", {"path": "app/service.py", "line": 15, "column": 16}
        )
        assert definition["definitions"][0]["code"].startswith("def make_user")

        references = await call(client, "find_references", {"symbol": "NewHandler"})
        assert ("server/routes.go", 5) in {(hit["path"], hit["line"]) for hit in references["references"]}

        outline = await call(client, "file_outline", {"path": "web/client.ts"})
        assert {"Greeting", "greet", "ApiClient"} <= {item["name"] for item in outline["items"]}

        code = await call(
            client, "read_code", {"path": "server/handler.go", "start_line": 16, "end_line": 18}
        )
        assert code["text"].split("\n")[0] == "func (h *Handler) Serve(path string) string {"

        repo_map = await call(client, "repo_map", {})
        assert "app/models.py" in repo_map["text"]

        context = await call(client, "build_context", {"task": "greet a user in the web client"})
        assert "web/client.ts" in context["text"]

        arguments = {"path": "app/service.py", "line": 17, "column": 9, "buffer": unsaved_service(repo)}
        completion = await call(client, "complete_code", arguments)
        assert completion["text"] == COMPLETION

        answer = await call(
            client, "ask_qwen", {"question": "What does register do?", "paths": ["app/service.py"]}
        )
        assert answer["answer"] == ANSWER

        status = await call(client, "index_status")
        assert status["state"] == "ready" and status["files"] >= 7

        refused = await call_error(client, "read_code", {"path": "../outside/stolen.py"})
        assert "Traceback" not in refused

    [fim] = fake_model.requests_to("completions")
    assert "def make_user(name: str) -> User:" in fim.body["prompt"]
    [chat] = fake_model.requests_to("chat")
    sent = json.dumps(chat.body["messages"])
    assert "What does register do?" in sent and "class UserService:" in sent
    assert FIXTURE_SECRET not in sent + fim.body["prompt"]


async def test_the_process_lists_its_tools_before_a_large_repository_is_indexed(tmp_path: Path) -> None:
    for n in range(3000):
        folder = tmp_path / f"pkg{n // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{n}.py").write_text(f"def function_{n}(x):\n    return helper_{n}(x) + {n}\n" * 20)
    async with Client(server_process(tmp_path)) as client:
        assert len((await client.list_tools()).tools) == 11
        status = await call(client, "index_status")
    assert status["state"] in {"starting", "indexing"}  # bench/bench_mcp.py measures the time (< 1 s)


def test_started_in_the_filesystem_root_without_root_it_refuses_with_a_hint() -> None:
    done = subprocess.run(
        [QWEN_MCP], cwd="/", stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "--root" in done.stderr and "Traceback" not in done.stderr


async def test_ask_qwen_lets_the_model_call_the_engines_tools_and_reports_each_call(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [
        Reply(
            tool_calls=[
                ToolCall("read_code", {"path": "app/service.py", "start_line": 14, "end_line": 17}),
                ToolCall("read_code", {"path": "escape/stolen.py"}),
            ]
        ),
        Reply(text="<tool_call>\n<function=get_definition>\n<parameter=symbol>\nmake_user\n</parameter>\n"
                   "</function>\n</tool_call>"),
        Reply(text=ANSWER),
    ]
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    with FakeOpenAIServer(script) as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        async with Client(server_process(repo), read_timeout_seconds=60) as client:
            await call(client, "search_symbols", {"query": "User"})  # the index is ready: progress is the model's
            result = await client.call_tool(
                "ask_qwen", {"question": "How is the e-mail chosen?"}, progress_callback=on_progress
            )
    assert not result.is_error and result.structured_content is not None
    answer = result.structured_content
    assert answer["answer"] == ANSWER and answer["stopped"] is None
    assert answer["tool_calls"] == [
        "read_code(path='app/service.py', start_line=14, end_line=17)",
        "read_code(path='escape/stolen.py')",
        "get_definition(symbol='make_user')",
    ]
    calls = [message for message in progress if "is answering" not in message]
    assert calls[0] == "Qwen3-Coder called read_code(path='app/service.py', start_line=14, end_line=17)"
    assert calls[1].startswith("Qwen3-Coder read_code: ") and calls[1].endswith(" tokens")
    assert calls[3].startswith("Qwen3-Coder read_code: Error: ") and len(calls) == 6
    last = server.requests_to("chat")[-1].body["messages"]
    answers = [message["content"] for message in last if message["role"] == "tool"]
    assert answers[0].startswith("app/service.py lines 14-17 of 22:\n    14\t    def register(self, name: str)")
    assert answers[1].startswith("Error: ") and answers[2].startswith("app/models.py:18-20 (function make_user)")
    sent = json.dumps([request.body for request in server.requests_to("chat")])
    assert PLANTED[2] not in sent and FIXTURE_SECRET not in sent and str(repo) not in sent
