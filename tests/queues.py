"""Job queues for tests: each adapter of the port, and a way to run its own workers on it.

``deliver`` runs the adapter's real worker loop (``LocalWorker`` in memory, ``run_worker`` on
Redis) with a fake in place of ``ExecuteStep``, until the handler has had the jobs it expects.
On Redis every queue has a stream and a consumer group of its own, deleted afterwards, and
each ``deliver`` is a worker with a broker of its own, as another process would be.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol
from uuid import uuid4

from redis.asyncio import Redis
from taskiq_redis import RedisStreamBroker

from tests.conftest import service_url
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.adapters.queue.taskiq_redis import TaskiqJobQueue, make_broker, register_execute_step
from wfa.adapters.queue.taskiq_worker import run_worker
from wfa.application.ports.delivery import JobQueue
from wfa.domain.progress import Job
from wfa.entrypoints.roles import LocalWorker

Handler = Callable[[Job], Awaitable[object]]
DELIVERY_TIMEOUT = 5.0


class Delivery(Protocol):
    queue: JobQueue

    async def deliver(self, handle: Handler, count: int) -> None:
        """Hand jobs to ``handle`` as this adapter's workers do, until it has had ``count``."""
        ...


class FakeExecuteStep:
    """Stands in for ``ExecuteStep``: hands each job on, and says when enough have come."""

    def __init__(self, handle: Handler, count: int) -> None:
        self._handle, self._count, self.handled = handle, count, 0
        self.enough = asyncio.Event()

    async def execute(self, job: Job) -> None:
        await self._handle(job)
        self.handled += 1
        if self.handled >= self._count:
            self.enough.set()

    async def wait(self) -> None:
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                await self.enough.wait()
        except TimeoutError:
            raise AssertionError(f"{self.handled} of {self._count} jobs delivered") from None


class MemoryDelivery:
    def __init__(self) -> None:
        self.queue = InMemoryJobQueue()

    async def deliver(self, handle: Handler, count: int) -> None:
        fake = FakeExecuteStep(handle, count)
        worker = LocalWorker(self.queue, fake, concurrency=1)  # duck-typed ExecuteStep
        worker.start()
        try:
            await fake.wait()
        finally:
            await worker.stop(grace=1.0)


class RedisDelivery:
    def __init__(self, url: str, **options: Any) -> None:
        self.name = f"wfa-test:{uuid4().hex}"  # the stream's and the consumer group's
        self.url, self._options = url, {"idle_timeout_ms": 500, "read_block_ms": 50, **options}
        self.broker = self.make_broker()
        self.queue = TaskiqJobQueue(self.broker)

    def make_broker(self) -> RedisStreamBroker:
        return make_broker(
            self.url, queue_name=self.name, consumer_group=self.name, **self._options
        )

    async def deliver(self, handle: Handler, count: int, concurrency: int = 1) -> None:
        fake = FakeExecuteStep(handle, count)
        async with self.worker(fake, concurrency=concurrency):
            await fake.wait()

    @contextlib.asynccontextmanager
    async def worker(
        self, execute: Any, concurrency: int = 1, grace: float = 1.0
    ) -> AsyncIterator[RedisStreamBroker]:
        """A worker on a broker of its own while the block runs; stopped when it ends."""
        broker = self.make_broker()
        register_execute_step(broker, lambda: execute)
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(broker, concurrency=concurrency, stop=stop, grace=grace, restart_delay=0.1)
        )
        try:
            yield broker
        finally:
            stop.set()
            async with asyncio.timeout(grace + 2):
                await task

    async def close(self) -> None:
        await self.broker.shutdown()
        async with Redis.from_url(self.url) as redis:
            await redis.delete(self.name, f"autoclaim:{self.name}:{self.name}")


@contextlib.asynccontextmanager
async def redis_delivery(**options: Any) -> AsyncIterator[RedisDelivery]:
    delivery = RedisDelivery(service_url("WFA_TEST_REDIS_URL"), **options)
    try:
        yield delivery
    finally:
        await delivery.close()
