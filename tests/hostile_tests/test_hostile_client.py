"""`ModelClient` in-process against the hostile endpoint: the limits themselves (per-route deadlines, the size
budget, bounded probing), where a subprocess would only add start-up time."""

from __future__ import annotations

import logging
import time

import pytest
from hostile_server import HostileServer

import context.model.client as client_module
from context.errors import ModelNotConfigured, ModelTimeout
from context.model.client import ModelClient
from context.model.settings import ANSWER_DEADLINES, ModelSettings, load_settings

FIM = "<|fim_prefix|>def f():\n    return <|fim_suffix|>\n<|fim_middle|>"
QUESTION = [{"role": "user", "content": "why?"}]


def settings_for(server: HostileServer, **overrides: object) -> ModelSettings:
    return load_settings({"base_url": server.base_url, "model": "qwen3-coder", "read_timeout": 5, **overrides})


def test_a_set_answer_timeout_applies_to_every_route_and_the_defaults_differ_by_route() -> None:
    assert load_settings({"answer_timeout": 7}).deadline("models") == 7
    assert {kind: load_settings().deadline(kind) for kind in ANSWER_DEADLINES} == ANSWER_DEADLINES
    assert ANSWER_DEADLINES["fim"] < ANSWER_DEADLINES["chat"]


async def test_each_route_keeps_its_own_default_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ANSWER_DEADLINES, "fim", 1.0)
    monkeypatch.setitem(ANSWER_DEADLINES, "chat", 2.5)
    with HostileServer(answers="trickle") as server:
        async with ModelClient(settings_for(server)) as client:
            for call, limit in ((client.fim_text(FIM), 1.0), (client.chat(QUESTION), 2.5)):
                started = time.monotonic()
                with pytest.raises(ModelTimeout, match=f"within {limit:g}s.*QWEN_ANSWER_TIMEOUT"):
                    await call
                assert limit <= time.monotonic() - started < limit + 1.5


async def test_an_answer_past_its_byte_limit_stops_and_is_marked_cut() -> None:
    with HostileServer(answers="huge", size=50_000_000) as server:
        async with ModelClient(settings_for(server, max_answer_bytes=100_000)) as client:
            started = time.monotonic()
            reply = await client.chat(QUESTION, max_tokens=100_000)
            assert time.monotonic() - started < 5
    assert reply.finish_reason == "length"
    assert 0 < len(reply.content) <= 100_000


async def test_an_answer_past_its_token_limit_stops_there() -> None:
    with HostileServer(answers="many", size=100_000) as server:
        async with ModelClient(settings_for(server)) as client:
            pieces = [piece async for piece in client.complete(FIM, max_tokens=50)]
            reply = await client.chat(QUESTION, max_tokens=20)
    assert len(pieces) == 50
    assert (reply.content, reply.finish_reason) == ("x" * 20, "length")


async def test_a_trickling_local_port_does_not_hold_up_autodetection(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileServer(models="trickle") as server:
        port = int(server.base_url.split(":")[2].split("/")[0])
        monkeypatch.setattr(client_module, "LOCAL_PORTS", ((port, "vllm"),))
        async with ModelClient(load_settings({"no_autodetect": False})) as client:
            started = time.monotonic()
            with pytest.raises(ModelNotConfigured):
                await client.fim_text(FIM)
            assert time.monotonic() - started < 3


async def test_an_autodetected_endpoint_is_not_a_warning_and_doctor_says_where_it_came_from(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with HostileServer() as server:
        port = int(server.base_url.split(":")[2].split("/")[0])
        monkeypatch.setattr(client_module, "LOCAL_PORTS", ((port, "vllm"),))
        with caplog.at_level(logging.INFO):
            async with ModelClient(load_settings({"no_autodetect": False})) as client:
                assert await client.fim_text(FIM) == "value"
            async with ModelClient(load_settings({"no_autodetect": False})) as client:
                checks = await client.diagnose()
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
    assert any("using the vllm-like server" in record.message for record in caplog.records)
    assert "found by probing local ports" in checks[0].detail and all(check.ok for check in checks)


async def test_one_huge_event_is_held_to_the_tokens_asked_for() -> None:
    """A 4 KB event per token asked for: far past what `max_tokens` can produce, though under the byte limit."""
    with HostileServer(answers="huge", size=4096 * 100) as server:
        async with ModelClient(settings_for(server)) as client:
            reply = await client.chat(QUESTION, max_tokens=64)
    assert (reply.content, reply.finish_reason) == ("x" * 64 * 32, "length")
