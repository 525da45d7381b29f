"""The serial worker runs the servers' blocking engine calls in order, off their event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from context.serve.worker import SerialWorker


async def test_jobs_run_in_order_on_one_daemon_thread_off_the_event_loop() -> None:
    worker = SerialWorker("test-worker")
    seen: list[tuple[int, str]] = []

    def job(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n * n

    assert await asyncio.gather(*(worker.run(lambda n=n: job(n)) for n in range(5))) == [0, 1, 4, 9, 16]
    assert seen == [(n, "test-worker") for n in range(5)]
    worker.stop()


async def test_an_exception_in_a_job_reaches_the_caller_and_the_thread_goes_on() -> None:
    worker = SerialWorker("test-worker")

    def fail() -> None:
        raise KeyError("gone")

    with pytest.raises(KeyError, match="gone"):
        await worker.run(fail)
    assert await worker.run(lambda: "still running") == "still running"
    worker.stop()


def test_stopping_with_cancel_pending_skips_queued_jobs_and_refuses_new_ones() -> None:
    worker = SerialWorker("test-worker")
    started, release = threading.Event(), threading.Event()

    def block() -> bool:
        started.set()
        return release.wait(5)

    running = worker.submit(block)
    queued = worker.submit(lambda: "never")
    assert started.wait(5)
    worker.stop(cancel_pending=True)
    release.set()
    assert running.result(timeout=5) is True
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="stopped"):
        worker.submit(lambda: None)


def test_stopping_lets_the_queued_jobs_finish() -> None:
    worker = SerialWorker("test-worker")
    futures = [worker.submit(lambda n=n: n) for n in range(3)]
    worker.stop()
    assert [future.result(timeout=5) for future in futures] == [0, 1, 2]
