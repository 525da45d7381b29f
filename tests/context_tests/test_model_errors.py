"""Every way an endpoint fails, over real HTTP to the local server: retries with backoff, timeouts, the
circuit breaker, and one clear, actionable error per failure."""

from __future__ import annotations

import asyncio
import time

import pytest

from context.errors import (
    FimUnsupported,
    ModelAuthError,
    ModelNotFound,
    ModelRateLimited,
    ModelResponseError,
    ModelTimeout,
    ModelUnavailable,
)
from context.model.client import ModelClient
from context.model.fakeserver import FakeOpenAIServer, Reply
from context.model.settings import ModelSettings, load_settings
from tests.ports import free_port

FIM = "<|fim_prefix|>def f():\n    return <|fim_suffix|>\n<|fim_middle|>"


def settings_for(server: FakeOpenAIServer, **overrides: object) -> ModelSettings:
    return load_settings({"base_url": server.base_url, "model": "qwen3-coder", "retry_backoff": 0.01, **overrides})


async def test_a_429_with_retry_after_is_retried_after_that_delay_and_then_succeeds() -> None:
    with FakeOpenAIServer([Reply.rate_limited(retry_after=0.4), "1"]) as server:
        async with ModelClient(settings_for(server)) as client:
            started = time.monotonic()
            assert await client.fim_text(FIM) == "1"
            assert time.monotonic() - started >= 0.4
        assert len(server.requests_to("completions")) == 2


async def test_a_500_four_times_fails_with_a_clear_message() -> None:
    with FakeOpenAIServer([Reply.server_error()] * 4) as server:
        async with ModelClient(settings_for(server)) as client:
            with pytest.raises(ModelResponseError, match=r"HTTP 500 4 times in a row.*check its log"):
                await client.fim_text(FIM)
        assert len(server.requests_to("completions")) == 4


async def test_5xx_then_success_is_retried_transparently() -> None:
    with FakeOpenAIServer([Reply.server_error(503), Reply.server_error(502), "ok"]) as server:
        async with ModelClient(settings_for(server)) as client:
            assert await client.ask("q", "c") == "ok"


async def test_rate_limiting_that_outlasts_the_retries_is_model_rate_limited() -> None:
    with FakeOpenAIServer([Reply.rate_limited(retry_after=0)] * 4) as server:
        async with ModelClient(settings_for(server)) as client:
            with pytest.raises(ModelRateLimited, match="HTTP 429 after 4 attempts"):
                await client.fim_text(FIM)


async def test_a_retry_after_longer_than_the_limit_fails_at_once() -> None:
    with FakeOpenAIServer([Reply.rate_limited(retry_after=600)]) as server:
        async with ModelClient(settings_for(server)) as client:
            with pytest.raises(ModelRateLimited, match="wait 600s"):
                await client.fim_text(FIM)
        assert len(server.requests_to("completions")) == 1


async def test_a_slow_first_token_times_out() -> None:
    with FakeOpenAIServer([Reply(text="late", first_token_delay=5)]) as server:
        async with ModelClient(settings_for(server, first_token_timeout=0.3)) as client:
            started = time.monotonic()
            with pytest.raises(ModelTimeout, match="QWEN_FIRST_TOKEN_TIMEOUT"):
                await client.fim_text(FIM)
            assert time.monotonic() - started < 2
        assert server.wait_for_disconnect(2)


async def test_silence_mid_stream_hits_the_read_timeout() -> None:
    with FakeOpenAIServer([Reply(chunks=["a", "b"], chunk_delay=5)]) as server:
        async with ModelClient(settings_for(server, read_timeout=0.3)) as client:
            with pytest.raises(ModelTimeout, match="QWEN_READ_TIMEOUT"):
                async for _ in client.complete(FIM):
                    pass


async def test_a_stream_cut_mid_way_is_a_response_error() -> None:
    with FakeOpenAIServer([Reply(chunks=["a", "b", "c"], cut_after=2)]) as server:
        async with ModelClient(settings_for(server)) as client:
            with pytest.raises(ModelResponseError, match="cut the answer off"):
                await client.fim_text(FIM)


async def test_a_malformed_stream_line_is_a_response_error() -> None:
    with FakeOpenAIServer([Reply(text="a", malformed=True)]) as server:
        async with ModelClient(settings_for(server)) as client:
            with pytest.raises(ModelResponseError, match="malformed"):
                await client.ask("q", "c")


async def test_a_dead_endpoint_opens_the_circuit_then_is_tried_again_after_the_cooldown() -> None:
    settings = load_settings({"base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "m",
                              "breaker_threshold": 2, "breaker_cooldown": 0.5})
    async with ModelClient(settings) as client:
        for _ in range(2):
            with pytest.raises(ModelUnavailable, match="cannot connect.*is the server running"):
                await client.fim_text(FIM)
        with pytest.raises(ModelUnavailable, match="not trying again"):
            await client.fim_text(FIM)
        await asyncio.sleep(0.6)
        with pytest.raises(ModelUnavailable, match="cannot connect"):
            await client.fim_text(FIM)


async def test_a_wrong_key_is_an_auth_error_naming_the_variable() -> None:
    with FakeOpenAIServer(token="right") as server:
        async with ModelClient(settings_for(server, api_key="wrong")) as client:
            with pytest.raises(ModelAuthError, match="key was refused.*QWEN_API_KEY"):
                await client.fim_text(FIM)


async def test_a_keyed_service_without_a_key_fails_before_sending_anything() -> None:
    with FakeOpenAIServer() as server:
        async with ModelClient(load_settings({"preset": "dashscope", "base_url": server.base_url})) as client:
            with pytest.raises(ModelAuthError, match="needs an API key: set QWEN_API_KEY"):
                await client.fim_text(FIM)
        assert server.requests == []


async def test_an_unknown_model_is_model_not_found_naming_the_setting() -> None:
    with FakeOpenAIServer() as server:
        async with ModelClient(settings_for(server, fim_model="qwen-nope")) as client:
            with pytest.raises(ModelNotFound, match="'qwen-nope'.*QWEN_FIM_MODEL"):
                await client.fim_text(FIM)


async def test_an_endpoint_without_raw_completions_suggests_the_chat_route() -> None:
    with FakeOpenAIServer(completions=False) as server:
        async with ModelClient(settings_for(server)) as client:
            with pytest.raises(FimUnsupported, match="QWEN_FIM_MODE=chat"):
                await client.fim_text(FIM)


async def test_a_server_without_infill_suggests_another_route() -> None:
    with FakeOpenAIServer(infill=False) as server:
        async with ModelClient(settings_for(server, fim_mode="infill")) as client:
            with pytest.raises(FimUnsupported, match="/infill"):
                await client.fim_text(FIM)


async def test_a_wrong_base_path_says_where_the_root_should_be() -> None:
    with FakeOpenAIServer() as server:
        async with ModelClient(load_settings({"base_url": f"{server.url}/api/v1", "model": "m"})) as client:
            with pytest.raises(ModelUnavailable, match="not found.*ends in /v1"):
                await client.ask("q", "c")
