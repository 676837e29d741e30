"""A taskiq worker in this process: take jobs until told to stop, then shut the broker down.

The task itself comes from ``register_execute_step``; this only runs taskiq's Receiver with a
bounded number of jobs in hand, and listens again when Redis drops it. Jobs still running
when the grace period ends are cancelled unacked, so another worker takes them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from taskiq import AckableMessage, AcknowledgeType, AsyncBroker
from taskiq.receiver import Receiver

log = logging.getLogger(__name__)


async def run_worker(
    broker: AsyncBroker,
    *,
    concurrency: int,
    stop: asyncio.Event,
    grace: float = 10.0,
    restart_delay: float = 1.0,
) -> None:
    """Run up to ``concurrency`` jobs at once until ``stop`` is set.

    Then take no new job, wait up to ``grace`` seconds for those in hand, cancel the rest and
    shut the broker down. A lost connection is retried every ``restart_delay`` seconds.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    broker.is_worker_process = True
    running: set[asyncio.Task[Any]] = set()
    try:
        while not stop.is_set():
            receiver = _Receiver(
                broker,
                running,
                max_async_tasks=concurrency,
                ack_type=AcknowledgeType.MANUAL,  # the task acks, after the outcome is committed
                wait_tasks_timeout=grace,
                run_startup=True,  # declares the consumer group again, should Redis have lost it
            )
            try:
                await receiver.listen(stop)
            except Exception:
                log.exception("the worker lost the queue; listening again in %ss", restart_delay)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(restart_delay):
                        await stop.wait()
    finally:
        await _cut_off(running)
        await broker.shutdown()


async def _cut_off(running: set[asyncio.Task[Any]]) -> None:
    """Cancel the jobs that outlived the grace period; unacked, they come back to the queue."""
    tasks = list(running)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class _Receiver(Receiver):
    """taskiq's Receiver, keeping hold of its running jobs so that a stop can cut them off."""

    def __init__(self, broker: AsyncBroker, running: set[asyncio.Task[Any]], **options: Any):
        super().__init__(broker, **options)
        self._running = running

    async def callback(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await super().callback(message, raise_err)
        finally:
            self._running.discard(task)
