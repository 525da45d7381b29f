"""The real `qwen-mcp` process, driven over stdio by the SDK's client, through the faults of the hostile-repository
and hostile-model reviews: slow calls, deadlines, cancelled calls, a damaged index, refused paths in prompts,
answers without newlines, and no server path or traceback in anything the client reads."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from context.engine import Engine, default_cache_dir
from context.index.store import index_path
from context.model.fakeserver import FakeOpenAIServer, Reply
from context.prompt import tokens
from tests.hostile_tests.conftest import fill_disk, module_text, write

sys.path.append(str(Path(__file__).resolve().parent.parent / "mcp_tests"))
from mcp_support import FIXTURE, call, call_error  # the MCP tests' helpers, shared

QWEN_MCP = str(Path(sys.executable).with_name("qwen-mcp"))
FORWARDED_ENV = ("QWEN_CONTEXT_CACHE_DIR", "QWEN_NO_AUTODETECT", "QWEN_BASE_URL", "QWEN_MODEL", "QWEN_FIM_MODE")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """The local OpenAI-compatible server as the model endpoint."""
    with FakeOpenAIServer(reply="an answer") as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        monkeypatch.setenv("QWEN_FIM_MODE", "completions")
        yield server


@asynccontextmanager
async def qwen_mcp(root: Path, *extra: str) -> AsyncIterator[Client]:
    """The qwen-mcp process on ``root`` (the test's cache and model), connected, its first index done."""
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    params = StdioServerParameters(command=QWEN_MCP, args=["--root", str(root), "--no-watch", *extra], env=env)
    async with Client(params, read_timeout_seconds=90) as client:
        await until_ready(client)
        yield client


async def until_ready(client: Client) -> dict[str, Any]:
    """The index status once the server serves (``ready``, or ``disk_full``: serving what the index holds)."""
    for _ in range(240):
        status = await call(client, "index_status")
        if status["state"] in ("ready", "disk_full"):
            return status
        await asyncio.sleep(0.25)
    raise AssertionError(f"the index never became ready: {status}")


def slow_code(lines: int) -> str:
    """Megabytes of code with a secret-looking word on every line: seconds of masking and parsing, in small
    steps (a call that holds the interpreter for seconds in one C call would stall any thread design)."""
    line = "def handle_{0}(key):\n    return lookup(key, {0}, token=key_{0})  # the key, the token\n"
    return "".join(line.format(n) for n in range(lines // 2))


def slow_buffer(root: Path) -> str:
    """app/service.py as an unsaved buffer that takes seconds to turn into a prompt."""
    return (root / "app" / "service.py").read_text() + slow_code(160_000)


async def timed(coroutine: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await coroutine
    return result, time.monotonic() - started


async def test_a_slow_call_does_not_delay_index_status_or_search_symbols(repo: Path, model: FakeOpenAIServer) -> None:
    async with qwen_mcp(repo) as client:
        arguments = {"path": "app/service.py", "line": 17, "column": 9, "buffer": slow_buffer(repo)}
        slow = asyncio.create_task(client.call_tool("complete_code", arguments))
        await asyncio.sleep(1.0)  # the buffer is being masked and parsed by now
        status, status_seconds = await timed(call(client, "index_status"))
        found, search_seconds = await timed(call(client, "search_symbols", {"query": "make_user"}))
        assert not slow.done(), "the slow call finished too early to show anything"
        assert status["state"] == "ready" and found["symbols"][0]["path"] == "app/models.py"
        assert status_seconds < 3 and search_seconds < 3, (status_seconds, search_seconds)
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)


async def test_a_call_past_its_deadline_is_stopped_with_a_clear_error(repo: Path, model: FakeOpenAIServer) -> None:
    async with qwen_mcp(repo, "--tool-timeout", "1") as client:
        arguments = {"path": "app/service.py", "line": 17, "column": 9, "buffer": slow_buffer(repo)}
        message, seconds = await timed(call_error(client, "complete_code", arguments))
        assert "did not finish within 1 s" in message and "--tool-timeout" in message
        assert seconds < 5
        status = await call(client, "index_status")
        assert status["state"] == "ready"


async def test_a_cancelled_model_call_closes_the_model_stream(repo: Path, model: FakeOpenAIServer) -> None:
    model.queue(Reply(chunks=["word "] * 200, chunk_delay=0.2))
    async with qwen_mcp(repo) as client:
        call = asyncio.create_task(client.call_tool("ask_qwen", {"question": "What does register do?"}))
        for _ in range(100):
            if model.requests_to("chat"):
                break
            await asyncio.sleep(0.1)
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        assert model.wait_for_disconnect(timeout=10)


async def test_a_damaged_index_under_a_running_server_is_reported_and_rebuilt(repo: Path) -> None:
    with Engine(repo) as engine:  # a warm index: the server then finds nothing to parse and loads nothing yet
        engine.index()
    database = index_path(default_cache_dir(), repo.resolve())
    async with qwen_mcp(repo) as client:
        with sqlite3.connect(database) as damage:  # rows whose symbols cannot be read: the engine starts afresh
            damage.execute("UPDATE files SET names = names || char(10) || 'torn'")
        result = await client.call_tool("search_symbols", {"query": "make_user"})
        if not result.is_error:  # an answer is fine only when it is the repository's
            assert result.structured_content is not None and result.structured_content["symbols"]
        status = await call(client, "index_status")
        assert not (status["state"] == "ready" and status["files"] == 0), status
        status = await until_ready(client)
        assert status["files"] >= 7
        found = await call(client, "search_symbols", {"query": "make_user"})
        assert found["symbols"][0]["path"] == "app/models.py"


async def test_a_full_disk_keeps_the_index_serving_and_says_so(repo: Path, small_disk: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWEN_CONTEXT_CACHE_DIR", str(small_disk / "cache"))
    with Engine(repo) as engine:  # the good index, on the small disk
        engine.index()
    for n in range(40):
        write(repo, f"pkg/module_{n}.py", module_text(n))
    fill_disk(small_disk)
    async with qwen_mcp(repo) as client:
        status = await call(client, "index_status")
        assert status["state"] == "disk_full", status
        assert "full" in status["message"] and str(small_disk) not in status["message"], status
        found = await call(client, "search_symbols", {"query": "make_user"})
        assert found["symbols"][0]["path"] == "app/models.py"


async def test_the_root_folder_as_a_path_gets_a_clear_error(repo: Path) -> None:
    async with qwen_mcp(repo) as client:
        for tool, arguments in (
            ("read_code", {"path": "."}),
            ("file_outline", {"path": "."}),
            ("get_definition", {"path": ".", "line": 1}),
        ):
            message = await call_error(client, tool, arguments)
            assert "folder" in message and "internal error" not in message, message


async def test_prompts_keep_the_path_refusal_text(repo: Path) -> None:
    async with qwen_mcp(repo) as client:
        for prompt in ("explain", "write_tests"):
            with pytest.raises(MCPError) as refused:
                await client.get_prompt(prompt, {"path": "../outside/stolen.py"})
            assert "leads out of the workspace" in str(refused.value), refused.value
            assert "Internal" not in str(refused.value)


async def test_no_client_visible_text_holds_a_server_path_or_a_traceback(repo: Path, tmp_path: Path) -> None:
    async with qwen_mcp(repo) as client:
        status = await call(client, "index_status")
        seen = [str(status)]
        seen.append(await call_error(client, "read_code", {"path": "missing.py"}))
        seen.append(await call_error(client, "file_outline", {"path": "README.unknown"}))
        seen.append(await call_error(client, "read_code", {"path": str(repo / "app" / "models.py")}))
        for text in seen:
            assert str(tmp_path) not in text and "/tmp/" not in text and "Traceback" not in text, text
        assert status["root"] == "repo"


async def test_ask_qwen_caps_an_answer_without_newlines(repo: Path, model: FakeOpenAIServer) -> None:
    model.queue(Reply(chunks=["y" * 10_000] * 100))
    async with qwen_mcp(repo, "--max-output-tokens", "4096") as client:
        answer = await call(client, "ask_qwen", {"question": "Say y a lot."})
    assert answer["truncated"] is True
    assert 0 < len(answer["answer"]) < 1_000_000 and tokens.count(answer["answer"]) <= 4096


async def test_a_call_waiting_for_a_cold_index_hears_how_far_it_got(tmp_path: Path) -> None:
    for n in range(3000):
        folder = tmp_path / f"pkg{n // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{n}.py").write_text(f"def function_{n}(x):\n    return helper_{n}(x) + {n}\n" * 20)
    heard: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        heard.append((done, total, message))

    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    params = StdioServerParameters(command=QWEN_MCP, args=["--root", str(tmp_path), "--no-watch"], env=env)
    async with Client(params, read_timeout_seconds=90) as client:
        await client.call_tool("search_symbols", {"query": "function_1"}, progress_callback=progress)
    assert heard, "no progress while the index was built"
    for _, total, message in heard:  # every report says how far it got: files with their total, or time
        assert message and "s so far" in message, message
        assert total or "files parsed" not in message, message
