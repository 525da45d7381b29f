"""One thread that runs blocking engine work in order, for the servers' event loops.

The engine is synchronous and may block on SQLite or a cold index, so the servers (lsp_server, mcp_server)
never call it on their event loop: they hand each call to a `SerialWorker` and await the result. One thread
per worker keeps calls in arrival order (an overlay recorded for a keystroke reaches the engine before the
prompt that should see it). The thread is a daemon, so a client that quits in the middle of a cold index does
not keep the server process alive.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], Future[Any]]


class SerialWorker:
    """A daemon thread running submitted callables one at a time, each result delivered through a Future."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - the caller's to handle, as in concurrent.futures
                future.set_exception(exc)

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn``; its Future completes when the thread has run it (cancel it to skip it if not started)."""
        if self._stopped:
            raise RuntimeError(f"the {self._thread.name} worker was stopped")
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the thread and await its result; cancelling the awaiting task skips a job not started."""
        return await asyncio.wrap_future(self.submit(fn))

    def stop(self, *, cancel_pending: bool = False) -> None:
        """Let the thread end after the jobs already queued, or, with ``cancel_pending``, after the running one
        (the queued jobs' Futures are cancelled). Further submissions raise RuntimeError."""
        self._stopped = True
        if cancel_pending:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[1].cancel()
        self._jobs.put(None)
