"""Threads that run blocking engine work for the servers' event loops.

The engine is synchronous and may block on SQLite, a cold index or a slow file, so the servers (lsp_server,
mcp_server) never call it on their event loop: they hand each call to a worker and await the result.

- `SerialWorker` is one thread running calls in arrival order (an overlay recorded for a keystroke reaches the
  engine before the prompt that should see it; the index is written by one thread).
- `WorkerPool` is several threads running calls side by side, for read-only queries the engine allows to run
  concurrently: one slow call then occupies one thread, not the server. A call whose caller stopped waiting
  (a deadline, a cancelled request) while it runs cannot be interrupted in its thread, so the pool starts a
  spare thread in its place (up to a bound) and lets one thread retire when that work ends.

Threads are daemons, so a client that quits in the middle of a cold index does not keep the server alive, and
they start with the first call, so importing a server module (which creates its server) starts no thread.
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


class WorkerPool:
    """Daemon threads running submitted callables, each result delivered through a Future."""

    def __init__(self, name: str, threads: int = 1, *, spares: int = 0) -> None:
        """``threads`` run calls; up to ``spares`` more stand in for calls abandoned while running."""
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._stopped = False
        self._lock = threading.Lock()
        self._max_threads = threads + spares
        self._live = 0
        #: Threads that should end after their current call (a spare was started for an abandoned call).
        self._retiring = 0
        self._started = 0
        self._threads = threads

    def _start_thread(self) -> None:
        self._live += 1
        self._started += 1
        name = self._name if self._started == 1 else f"{self._name}-{self._started}"
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # noqa: BLE001 - the caller's to handle, as in concurrent.futures
                    future.set_exception(exc)
            with self._lock:
                if self._retiring:
                    self._retiring -= 1
                    self._live -= 1
                    return
        with self._lock:
            self._live -= 1

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn``; its Future completes when a thread has run it (cancel it to skip it if not started)."""
        if self._stopped:
            raise RuntimeError(f"the {self._name} worker was stopped")
        future: Future[T] = Future()
        with self._lock:
            if not self._started:  # threads start with the first call: creating a server starts none
                for _ in range(self._threads):
                    self._start_thread()
        self._jobs.put((fn, future))
        return future

    @property
    def waiting(self) -> int:
        """How many submitted calls no thread has started yet (approximate while others submit)."""
        return self._jobs.qsize()

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a thread and await its result. Cancelling the awaiting task skips a call not yet
        started; a started one runs to its end on its thread, its result dropped."""
        future = self.submit(fn)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if not future.cancel() and future.running():
                self._abandoned()
            raise

    def _abandoned(self) -> None:
        """A running call lost its caller: let a spare thread serve the queue meanwhile."""
        with self._lock:
            if self._stopped or self._live >= self._max_threads:
                return
            self._retiring += 1
            self._start_thread()

    def stop(self, *, cancel_pending: bool = False) -> None:
        """Let the threads end after the calls already queued, or, with ``cancel_pending``, after the running
        ones (the queued calls' Futures are cancelled). Further submissions raise RuntimeError."""
        self._stopped = True
        if cancel_pending:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[1].cancel()
        for _ in range(self._max_threads):
            self._jobs.put(None)


class SerialWorker(WorkerPool):
    """One daemon thread running submitted callables one at a time, in the order they were submitted."""

    def __init__(self, name: str) -> None:
        super().__init__(name, 1)
