"""The workers run the servers' blocking engine calls off their event loop: one thread in order, or a pool."""

from __future__ import annotations

import asyncio
import threading

import pytest

from context.serve.worker import SerialWorker, WorkerPool


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


async def test_a_pool_runs_calls_side_by_side_and_a_spare_stands_in_for_an_abandoned_call() -> None:
    pool = WorkerPool("test-pool", 2, spares=1)
    release = threading.Event()
    started = threading.Barrier(3)

    def block() -> bool:
        started.wait(5)
        return release.wait(10)

    stuck = [asyncio.create_task(pool.run(block)) for _ in range(2)]
    await asyncio.to_thread(started.wait, 5)  # both threads are busy at once
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)
    assert await asyncio.wait_for(pool.run(lambda: "served by the spare"), 5) == "served by the spare"
    release.set()
    pool.stop()


async def test_cancelling_a_queued_call_skips_it() -> None:
    pool = WorkerPool("test-pool", 1)
    release, ran = threading.Event(), threading.Event()
    first = asyncio.create_task(pool.run(lambda: release.wait(10)))
    second = asyncio.create_task(pool.run(ran.set))
    await asyncio.sleep(0.1)
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    release.set()
    assert await first is True
    await asyncio.sleep(0.1)
    assert not ran.is_set()
    pool.stop()
