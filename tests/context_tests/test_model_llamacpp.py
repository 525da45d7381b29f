"""The model client against a real inference server: llama.cpp's ``llama-server`` serving a tiny random-weight
model with Qwen's tokenizer and the Qwen3-Coder chat template (`tiny_qwen`).

The fake server answers what the client's authors think the wire looks like; this one answers what llama.cpp
sends: its SSE framing, its split UTF-8, its ``/infill``, its API-key check and its tokenizer. Each answer is
compared with the server's own non-streamed answer to the same request (greedy decoding is repeatable), so a
parse that drops, reorders or mangles text fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from context.agent.tools import TOOLS
from context.engine import Engine
from context.errors import ModelAuthError
from context.model.client import FIM_STOP, ModelClient, fim_parts
from context.model.settings import ModelSettings, load_settings
from context.prompt import tokens
from tests.context_tests.tiny_qwen import write_tiny_qwen
from tests.ports import free_port

LLAMA_ENV = "QWEN_TEST_LLAMA_SERVER"
LLAMA_HINT = (f"run `PYTHON=.venv/bin/python bash .ci/fetch-llama-server .cache/llama-server` in the checkout and "
              f"export {LLAMA_ENV}=<the path it prints> (.ci/run does both)")
TOKEN = "test-key-7f3a"
PYTHON_FILE = "python/app/service.py"
REPO_PROMPT = ("<|repo_name|>demo\n<|file_sep|>util.py\ndef helper():\n    return 1\n"
               "<|file_sep|>main.py\n<|fim_prefix|>from util import helper\n\ndef run():\n    x = "
               "<|fim_suffix|>\n    return x\n<|fim_middle|>")


@dataclass(frozen=True)
class LlamaServer:
    base_url: str  # ends in /v1, as a user configures it
    root: str

    def answer(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """The server's own answer at ``path`` (POSTed ``body`` when given, not streamed), read without the
        client under test."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.root + path, data, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def settings(self, **overrides: object) -> ModelSettings:
        return load_settings({"base_url": self.base_url, "api_key": TOKEN, "model": "qwen3-coder",
                              "max_tokens": 24, **overrides})


def _wait_healthy(root: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, f"llama-server exited: {log.read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(f"{root}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    pytest.fail(f"llama-server did not become healthy in 90 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def llama(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    binary = Path(client(os.environ.get(LLAMA_ENV), f"llama.cpp's llama-server (${LLAMA_ENV})", LLAMA_HINT))
    folder = tmp_path_factory.mktemp("llama")
    model = write_tiny_qwen(folder / "tiny-qwen3-coder.gguf", binary.with_name("Qwen3-Coder.jinja").read_text())
    port, log = free_port(), folder / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-c", "8192", "-np", "1",
             "-t", "2", "--jinja", "--api-key", TOKEN, "--alias", "qwen3-coder", "--no-webui"],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(root, process, log)
        yield LlamaServer(f"{root}/v1", root)
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _joined(stream: Any) -> str:
    async with aclosing(stream) as pieces:
        return "".join([piece async for piece in pieces])


# --- the tokenizer ---------------------------------------------------------------------------------------------


def test_the_engine_counts_exactly_the_tokens_the_server_reads(llama: LlamaServer, engine: Engine) -> None:
    """The budget is only exact if the engine's count is the server's: ordinary code, Unicode, and a real
    repository-level prompt full of FIM markers, which the server must read as single special tokens."""
    prompt = engine.fim_prompt(PYTHON_FILE, line=3, character=0, budget=2048).text
    texts = ["def add(a, b):\n    return a + b\n", "变量 = '日本語 ✓ émoji 🎉'\n\t\tif x:  # tabs\r\n", REPO_PROMPT,
             prompt]
    for text in texts:
        served = llama.answer("/tokenize", {"content": text, "add_special": False, "parse_special": True})["tokens"]
        assert tokens.count(text) == len(served), text[:80]
        assert tokens.encode(text) == served, text[:80]


# --- fill-in-the-middle ----------------------------------------------------------------------------------------


async def test_raw_completions_stream_exactly_the_servers_answer(llama: LlamaServer) -> None:
    async with ModelClient(llama.settings()) as client:
        streamed = await _joined(client.complete(REPO_PROMPT, max_tokens=24))
    own = llama.answer("/v1/completions", {"model": "qwen3-coder", "prompt": REPO_PROMPT, "max_tokens": 24,
                                        "temperature": 0.0, "stop": list(FIM_STOP)})
    assert streamed == own["choices"][0]["text"] and streamed


async def test_infill_sends_prefix_suffix_and_files_the_server_accepts(llama: LlamaServer) -> None:
    async with ModelClient(llama.settings(fim_mode="infill")) as client:
        streamed = await _joined(client.complete(REPO_PROMPT, max_tokens=16))
    parts = fim_parts(REPO_PROMPT)
    own = llama.answer("/infill", {"input_prefix": parts.prefix, "input_suffix": parts.suffix, "input_extra": [
        {"filename": path, "text": text} for path, text in parts.files], "n_predict": 16, "temperature": 0.0})
    assert streamed == own["content"] and streamed
    assert own["tokens_evaluated"] > len(tokens.encode(parts.prefix + parts.suffix))  # the files went in too


def test_cancelling_a_completion_frees_the_servers_slot(llama: LlamaServer) -> None:
    async def first_piece_then_close() -> None:
        async with ModelClient(llama.settings()) as client, aclosing(
                client.complete(REPO_PROMPT, max_tokens=6000)) as deltas:
            async for _ in deltas:
                break

    asyncio.run(first_piece_then_close())
    deadline = time.monotonic() + 3  # a slot left running needs ~13 s for 6,000 tokens here
    while any(slot["is_processing"] for slot in llama.answer("/slots")):
        assert time.monotonic() < deadline, "the server kept generating for a closed request"
        time.sleep(0.05)


# --- chat ------------------------------------------------------------------------------------------------------


async def test_chat_streams_exactly_the_servers_answer_through_the_qwen3_coder_template(
        llama: LlamaServer) -> None:
    messages = [{"role": "system", "content": "You are a code reviewer."},
                {"role": "user", "content": "Review `def add(a, b): return a - b`."}]
    async with ModelClient(llama.settings()) as client:
        streamed = await _joined(client.chat_stream(messages, max_tokens=20, temperature=0.0))
    own = llama.answer("/v1/chat/completions", {"model": "qwen3-coder", "messages": messages, "max_tokens": 20,
                                             "temperature": 0.0})
    assert streamed == own["choices"][0]["message"]["content"] and streamed
    rendered = llama.answer("/apply-template", {"messages": messages})["prompt"]
    assert rendered.startswith("<|im_start|>system\nYou are a code reviewer.<|im_end|>\n<|im_start|>user\n")


async def test_the_agents_tool_definitions_are_accepted_and_rendered_by_the_real_template(
        llama: LlamaServer) -> None:
    messages = [{"role": "user", "content": "Where is `helper` defined?"}]
    async with ModelClient(llama.settings()) as client:
        reply = await client.chat(messages, tools=TOOLS, max_tokens=12, temperature=0.0)
    assert reply.finish_reason in ("length", "stop", "tool_calls")
    rendered = llama.answer("/apply-template", {"messages": messages, "tools": list(TOOLS)})["prompt"]
    for schema in TOOLS:
        assert f"<name>{schema['function']['name']}</name>" in rendered


# --- errors and the doctor -------------------------------------------------------------------------------------


async def test_a_wrong_api_key_is_refused_with_an_auth_error(llama: LlamaServer) -> None:
    settings = load_settings({"base_url": llama.base_url, "api_key": "wrong", "model": "qwen3-coder", "retries": 0})
    async with ModelClient(settings) as client:
        with pytest.raises(ModelAuthError):
            await _joined(client.complete(REPO_PROMPT, max_tokens=4))


def test_doctor_passes_every_check_on_the_llamacpp_preset(llama: LlamaServer) -> None:
    env = {**os.environ, "QWEN_PRESET": "llamacpp", "QWEN_BASE_URL": llama.base_url, "QWEN_API_KEY": TOKEN}
    run = subprocess.run([sys.executable, "-m", "context.cli", "doctor", "--json"], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    checks = {check["check"]: check for check in json.loads(run.stdout)}
    assert run.returncode == 0, run.stdout + run.stderr
    assert all(check["ok"] for check in checks.values())
    assert "fill-in-the-middle (llama.cpp /infill)" in checks
