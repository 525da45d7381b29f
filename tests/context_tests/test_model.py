"""The model client against the local OpenAI-compatible server over real HTTP: the exact request of each FIM
route, streaming, clean-up, cancellation, chat with tools (and Qwen's XML fallback), settings and presets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.errors import ConfigError, ModelNotConfigured
from context.model.client import FIM_STOP, ModelClient, fim_parts, parse_xml_tool_calls
from context.model.fakeserver import FakeOpenAIServer, RecordedRequest, Reply, ToolCall
from context.model.settings import ModelSettings, load_settings
from context.prompt.result import Prompt
from tests.ports import free_port

REPO_PROMPT = ("<|repo_name|>demo\n<|file_sep|>util.py\ndef helper():\n    return 1\n"
               "<|file_sep|>main.py\n<|fim_prefix|>from util import helper\n\ndef run():\n    x = "
               "<|fim_suffix|>\n    return x\n<|fim_middle|>")


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def settings_for(server: FakeOpenAIServer, **overrides: object) -> ModelSettings:
    return load_settings({"base_url": server.base_url, "model": "qwen3-coder", **overrides})


def only(requests: list[RecordedRequest]) -> RecordedRequest:
    assert len(requests) == 1, requests
    return requests[0]


# --- the three FIM routes ---------------------------------------------------------------------------------------


async def test_completions_route_sends_the_raw_prompt_with_qwen_stop_tokens_model_and_max_tokens(
        server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="helper()"))
    async with ModelClient(settings_for(server, fim_model="qwen3-coder", max_tokens=64)) as client:
        assert await client.fim_text(REPO_PROMPT) == "helper()"
    body = only(server.requests_to("completions")).body
    assert body == {"model": "qwen3-coder", "prompt": REPO_PROMPT, "max_tokens": 64, "temperature": 0.0,
                    "stop": ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
                             "<|endoftext|>", "<|im_end|>"], "stream": True}
    assert tuple(body["stop"]) == FIM_STOP


async def test_infill_route_posts_prefix_suffix_and_context_files_to_llama_cpp(server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="helper()"))
    async with ModelClient(settings_for(server, fim_mode="infill", max_tokens=32)) as client:
        assert await client.fim_text(REPO_PROMPT) == "helper()"
    request = only(server.requests_to("infill"))
    assert request.path == "/infill"
    assert request.body == {
        "input_prefix": "from util import helper\n\ndef run():\n    x = ", "input_suffix": "\n    return x\n",
        "input_extra": [{"filename": "util.py", "text": "def helper():\n    return 1"}],
        "n_predict": 32, "temperature": 0.0, "stream": True, "cache_prompt": True}


async def test_chat_route_sends_a_system_prompt_and_the_fim_prompt_in_the_user_turn(
        server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="```python\n    x = helper()\n```\nThis calls the helper."))
    async with ModelClient(settings_for(server, fim_mode="chat", fim_model="qwen3-coder")) as client:
        assert await client.fim_text(REPO_PROMPT) == "helper()"
    body = only(server.requests_to("chat")).body
    system, user = body["messages"]
    assert system["role"] == "system" and "only the code" in system["content"]
    assert user == {"role": "user", "content": REPO_PROMPT}
    assert (body["model"], body["max_tokens"], body["temperature"], body["stream"]) == ("qwen3-coder", 256, 0.0, True)


@pytest.mark.parametrize("mode", ["completions", "infill", "chat"])
async def test_a_per_call_temperature_is_sent_on_every_fim_route(server: FakeOpenAIServer, mode: str) -> None:
    server.queue(Reply(text="helper()"), Reply(text="helper()"))
    async with ModelClient(settings_for(server, fim_mode=mode, temperature=0.2)) as client:
        await client.fim_text(REPO_PROMPT, temperature=0.8)
        await client.fim_text(REPO_PROMPT)
    warm, configured = server.requests_to(mode)
    assert (warm.body["temperature"], configured.body["temperature"]) == (0.8, 0.2)


async def test_fim_output_is_cut_at_the_file_separator(server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="helper() + 1<|file_sep|>other.py\nimport os\n"))
    async with ModelClient(settings_for(server)) as client:
        assert await client.fim_text(REPO_PROMPT) == "helper() + 1"


async def test_fim_accepts_the_engine_prompt_object(server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="'a'\n"))
    prompt = Prompt(text="<|fim_prefix|>x = <|fim_suffix|>\n<|fim_middle|>", tokens=9, budget=1024, sections=[],
                    elapsed_ms=0.0, prefix="x = ", suffix="\n", path="a.py", repo_name="demo")
    async with ModelClient(settings_for(server)) as client:
        assert await client.fim_text(prompt) == "'a'"


def test_a_repository_level_prompt_is_taken_apart_into_files_prefix_and_suffix() -> None:
    parts = fim_parts(REPO_PROMPT)
    assert parts.files == (("util.py", "def helper():\n    return 1"),)
    assert (parts.path, parts.prefix, parts.suffix) == (
        "main.py", "from util import helper\n\ndef run():\n    x = ", "\n    return x\n")
    assert fim_parts("plain text").prefix == "plain text"


# --- streaming and cancellation -------------------------------------------------------------------------------


async def test_completion_deltas_stream_as_the_server_sends_them(server: FakeOpenAIServer) -> None:
    server.queue(Reply(chunks=["a", "b", "c"], chunk_delay=0.3))
    async with ModelClient(settings_for(server)) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        arrivals = [(piece, loop.time() - started) async for piece in client.complete("x = ")]
    assert [piece for piece, _ in arrivals] == ["a", "b", "c"]
    assert arrivals[1][1] - arrivals[0][1] > 0.2  # the first piece arrived before the server sent the second


async def test_cleaned_lines_of_a_block_reach_the_caller_while_the_model_is_still_writing(
        server: FakeOpenAIServer) -> None:
    server.queue(Reply(chunks=["a = 1\n", "    b = 2\n", "    c = 3\n"], chunk_delay=0.3))
    prompt = "<|fim_prefix|>def f():\n    <|fim_suffix|>\n<|fim_middle|>"
    async with ModelClient(settings_for(server)) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        arrivals = [(piece, loop.time() - started) async for piece in client.fim(prompt)]
    assert "".join(piece for piece, _ in arrivals) == "a = 1\n    b = 2\n    c = 3"
    assert arrivals[0][0] == "a = 1"
    assert arrivals[1][1] - arrivals[0][1] > 0.2  # released before the model wrote the next line


async def test_a_finished_single_line_closes_the_stream_without_waiting_for_the_rest(
        server: FakeOpenAIServer) -> None:
    server.queue(Reply(chunks=["helper()", "\n", "more"] + ["x"] * 50, chunk_delay=0.1))
    async with ModelClient(settings_for(server)) as client:
        assert await client.fim_text(REPO_PROMPT) == "helper()"
    assert server.wait_for_disconnect(2.0)


@pytest.mark.parametrize("route", ["completions", "infill", "chat"])
async def test_cancelling_the_task_closes_the_http_stream_and_the_server_sees_it(
        server: FakeOpenAIServer, route: str) -> None:
    server.queue(Reply(chunks=["first"] + ["more"] * 100, chunk_delay=0.2))
    got_first = asyncio.Event()

    async def consume(client: ModelClient) -> None:
        async for _ in client.complete(REPO_PROMPT):
            got_first.set()

    async with ModelClient(settings_for(server, fim_mode=route)) as client:
        task = asyncio.create_task(consume(client))
        await asyncio.wait_for(got_first.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(server.wait_for_disconnect, 2.0)
    request = only(server.requests_to(route))
    assert request.disconnected and not request.finished


# --- chat, tools, questions -------------------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file of the repository.",
    "parameters": {"type": "object", "required": ["path"], "properties": {
        "path": {"type": "string"}, "start_line": {"type": "integer"}, "whole": {"type": "boolean"}}}}}]


async def test_chat_sends_the_tools_and_assembles_streamed_tool_calls(server: FakeOpenAIServer) -> None:
    server.queue(Reply(tool_calls=[ToolCall("read_file", {"path": "a.py", "start_line": 3})]))
    messages = [{"role": "user", "content": "Show a.py"}]
    async with ModelClient(settings_for(server)) as client:
        reply = await client.chat(messages, tools=TOOLS)
    assert [(call.name, call.arguments) for call in reply.tool_calls] == [("read_file", {"path": "a.py",
                                                                                       "start_line": 3})]
    assert reply.finish_reason == "tool_calls"
    body = only(server.requests_to("chat")).body
    assert body["tools"] == TOOLS and body["messages"] == messages


async def test_qwen_xml_tool_calls_left_in_the_message_text_become_typed_tool_calls(
        server: FakeOpenAIServer) -> None:
    xml = ("Let me look.\n<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/a.py\n</parameter>\n"
           "<parameter=start_line>\n12\n</parameter>\n<parameter=whole>\nfalse\n</parameter>\n</function>\n"
           "</tool_call>")
    server.queue(Reply(text=xml))
    async with ModelClient(settings_for(server)) as client:
        reply = await client.chat([{"role": "user", "content": "Show a.py"}], tools=TOOLS)
    assert reply.content == "Let me look."
    assert [(call.name, call.arguments) for call in reply.tool_calls] == [
        ("read_file", {"path": "src/a.py", "start_line": 12, "whole": False})]
    assert reply.finish_reason == "tool_calls"


def test_several_xml_tool_calls_are_parsed_with_or_without_the_wrapper() -> None:
    text = ("<function=read_file>\n<parameter=path>\na.py\n</parameter>\n</function>\n<tool_call>\n"
            "<function=search>\n<parameter=query>\nfoo bar\n</parameter>\n</function>\n</tool_call>")
    content, calls = parse_xml_tool_calls(text, TOOLS)
    assert content == ""
    assert [(call.name, call.arguments) for call in calls] == [("read_file", {"path": "a.py"}),
                                                               ("search", {"query": "foo bar"})]


async def test_ask_sends_the_repository_context_and_the_question(server: FakeOpenAIServer) -> None:
    server.queue(Reply(text="It is defined in util.py:1."))
    async with ModelClient(settings_for(server)) as client:
        answer = await client.ask("Where is helper defined?", "## util.py\ndef helper(): ...")
    assert answer == "It is defined in util.py:1."
    system, user = only(server.requests_to("chat")).body["messages"]
    assert system["role"] == "system"
    assert user["content"].startswith("## util.py\ndef helper(): ...") and user["content"].endswith(
        "Where is helper defined?")


async def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    with FakeOpenAIServer(["ok"], token="sekrit") as server:
        async with ModelClient(settings_for(server, api_key="sekrit")) as client:
            assert await client.ask("q", "c") == "ok"
        assert only(server.requests_to("chat")).headers["authorization"] == "Bearer sekrit"


async def test_without_a_model_name_the_first_qwen3_coder_the_server_lists_is_used() -> None:
    with FakeOpenAIServer(["ok"], models=["other-model", "Qwen/Qwen3-Coder-30B-A3B-Instruct"]) as server:
        async with ModelClient(load_settings({"base_url": server.base_url})) as client:
            assert await client.ask("q", "c") == "ok"
        assert only(server.requests_to("chat")).body["model"] == "Qwen/Qwen3-Coder-30B-A3B-Instruct"


# --- settings, presets, autodetection ---------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "url", "mode"), [
    ("vllm", "http://127.0.0.1:8000/v1", "completions"),
    ("sglang", "http://127.0.0.1:30000/v1", "completions"),
    ("llamacpp", "http://127.0.0.1:8080/v1", "infill"),
    ("ollama", "http://127.0.0.1:11434/v1", "chat"),
    ("lmstudio", "http://127.0.0.1:1234/v1", "completions"),
    ("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "chat"),
    ("dashscope-cn", "https://dashscope.aliyuncs.com/compatible-mode/v1", "chat"),
    ("openrouter", "https://openrouter.ai/api/v1", "chat"),
])
def test_a_preset_sets_the_url_the_models_and_the_fim_route(preset: str, url: str, mode: str) -> None:
    settings = ModelSettings.from_preset(preset)
    assert (settings.base_url, settings.fim_mode) == (url, mode)
    assert settings.model and settings.completion_model


def test_environment_beats_the_config_file_which_beats_the_preset(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[model]\npreset = "vllm"\nmodel = "from-file"\nfim_model = "fim-from-file"\n')
    monkeypatch.setenv("QWEN_CONTEXT_CONFIG", str(config))
    monkeypatch.setenv("QWEN_MODEL", "from-env")
    settings = load_settings()
    assert (settings.base_url, settings.model, settings.fim_model) == ("http://127.0.0.1:8000/v1", "from-env",
                                                                       "fim-from-file")
    assert load_settings({"model": "from-client"}).model == "from-client"


def test_the_api_key_falls_back_to_dashscope_for_dashscope_only_then_to_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    def key(preset: str) -> str | None:
        settings = load_settings({"preset": preset})
        return settings.api_key.get_secret_value() if settings.api_key else None

    monkeypatch.setenv("DASHSCOPE_API_KEY", "dashscope")
    assert (key("dashscope"), key("dashscope-cn"), key("openrouter")) == ("dashscope", "dashscope", None)
    monkeypatch.setenv("OPENAI_API_KEY", "openai")
    assert (key("dashscope"), key("openrouter")) == ("dashscope", "openai")
    monkeypatch.setenv("QWEN_API_KEY", "qwen")
    assert (key("dashscope"), key("openrouter")) == ("qwen", "qwen")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"preset": "gpu-cluster"}, "preset"), ({"base_url": "localhost:8000"}, "base_url"),
    ({"fim_mode": "raw"}, "fim_mode"), ({"max_tokens": 0}, "max_tokens")])
def test_a_bad_setting_is_a_config_error_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        load_settings(overrides)


def test_a_malformed_config_file_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[model\n")
    monkeypatch.setenv("QWEN_CONTEXT_CONFIG", str(config))
    with pytest.raises(ConfigError, match="config.toml"):
        load_settings()


async def test_with_nothing_configured_the_first_local_server_that_answers_is_used(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with FakeOpenAIServer(["ok"], models=["qwen3-coder:30b"]) as server:
        monkeypatch.setattr("context.model.client.LOCAL_PORTS", ((free_port(), "vllm"), (server.port, "ollama")))
        caplog.set_level(logging.INFO, logger="context.model.client")
        async with ModelClient(load_settings({"no_autodetect": False})) as client:
            endpoint = await client.endpoint()
            assert await client.ask("q", "c") == "ok"
    assert (endpoint.base_url, endpoint.model, endpoint.fim_mode) == (server.base_url, "qwen3-coder:30b", "chat")
    assert server.base_url in caplog.text


async def test_with_nothing_configured_and_no_local_server_model_features_fail_with_one_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("context.model.client.LOCAL_PORTS", ((free_port(), "vllm"),))
    async with ModelClient(load_settings({"no_autodetect": False})) as client:
        with pytest.raises(ModelNotConfigured, match="QWEN_PRESET"):
            await client.fim_text("x = ")


async def test_autodetection_can_be_switched_off() -> None:
    async with ModelClient(load_settings()) as client:
        with pytest.raises(ModelNotConfigured, match="QWEN_BASE_URL"):
            await client.ask("q", "c")
