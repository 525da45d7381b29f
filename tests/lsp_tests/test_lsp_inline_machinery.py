"""The cache and the supersession that keep inline completion cheap while the user types."""

from __future__ import annotations

import asyncio

import pytest

from lsp_server.inline import Latest, SuggestionCache


def test_typing_the_start_of_a_shown_suggestion_returns_the_rest_of_it() -> None:
    cache = SuggestionCache()
    cache.store("file:///a.py", "x = ", "\n", ["compute(1)", "None"])
    assert cache.lookup("file:///a.py", "x = com", "\n") == ["pute(1)"]
    assert cache.lookup("file:///a.py", "x = ", "\n") == ["compute(1)", "None"]


def test_typing_something_else_or_editing_after_the_cursor_misses_the_cache() -> None:
    cache = SuggestionCache()
    cache.store("file:///a.py", "x = ", "\n", ["compute(1)"])
    assert cache.lookup("file:///a.py", "x = z", "\n") == []
    assert cache.lookup("file:///a.py", "x = com", ")\n") == []
    assert cache.lookup("file:///a.py", "x = compute(1)", "\n") == []  # fully typed: nothing left to suggest
    assert cache.lookup("file:///b.py", "x = ", "\n") == []


def test_the_cache_keeps_only_the_most_recent_documents() -> None:
    cache = SuggestionCache(documents=2)
    for name in "abc":
        cache.store(name, "", "", ["x"])
    assert cache.lookup("a", "", "") == [] and cache.lookup("c", "", "") == ["x"]


async def test_a_new_request_cancels_the_one_in_flight_which_answers_none() -> None:
    latest = Latest()
    started = asyncio.Event()
    cancelled = []

    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "slow"

    async def fast() -> str:
        return "fast"

    first = asyncio.ensure_future(latest.run(slow()))
    await started.wait()
    assert await latest.run(fast()) == "fast"
    assert await first is None
    assert cancelled == [True]


async def test_cancelling_the_request_itself_still_raises_and_stops_the_work() -> None:
    latest = Latest()
    started = asyncio.Event()
    stopped = asyncio.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        finally:
            stopped.set()

    request = asyncio.ensure_future(latest.run(slow()))
    await started.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert stopped.is_set()
