"""The job-queue contract: every job enqueued reaches a worker at least once, in the order sent.

The contract runs on every adapter (memory, and Redis streams through taskiq when
WFA_TEST_REDIS_URL is set) through that adapter's own worker loop, one job at a time, so
that the order is the queue's. The memory queue's own drain and wake-up follow at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.queues import Delivery, MemoryDelivery, redis_delivery
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.domain.progress import Job


@pytest.fixture(params=["memory", "redis"])
async def delivery(request: pytest.FixtureRequest) -> AsyncIterator[Delivery]:
    if request.param == "memory":
        yield MemoryDelivery()
        return
    async with redis_delivery() as redis:
        yield redis


async def test_jobs_sent_before_a_worker_starts_are_delivered_in_order(delivery):
    jobs = [Job("r1", "a", 1), Job("r2", "b", 1), Job("r1", "a", 2)]
    await delivery.queue.enqueue(jobs[:2])
    await delivery.queue.enqueue(jobs[2:])
    delivered: list[Job] = []

    async def handle(job: Job) -> None:
        delivered.append(job)

    await delivery.deliver(handle, count=3)
    assert delivered == jobs


async def test_jobs_sent_to_a_waiting_worker_are_delivered_in_order(delivery):
    jobs = [Job(f"r{n}", "a", 1) for n in range(5)]
    delivered: list[Job] = []

    async def handle(job: Job) -> None:
        delivered.append(job)

    worker = asyncio.create_task(delivery.deliver(handle, count=len(jobs)))
    await asyncio.sleep(0.1)  # the worker is idle, waiting for work
    for job in jobs:
        await delivery.queue.enqueue([job])
    await worker
    assert delivered == jobs


async def test_jobs_sent_while_handling_are_delivered(delivery):
    delivered: list[Job] = []

    async def handle(job: Job) -> None:
        delivered.append(job)
        if job.attempt < 3:
            await delivery.queue.enqueue([Job(job.run_id, job.step_id, job.attempt + 1)])

    await delivery.queue.enqueue([Job("r1", "a", 1)])
    await delivery.deliver(handle, count=3)
    assert [job.attempt for job in delivered] == [1, 2, 3]


# The memory queue's own API: the local engine drains it, and LocalWorker waits on it.


async def test_a_drain_counts_the_jobs_it_handled_and_those_sent_meanwhile():
    queue = InMemoryJobQueue()
    delivered: list[Job] = []

    async def handle(job: Job) -> None:
        delivered.append(job)
        if job.attempt < 3:
            await queue.enqueue([Job(job.run_id, job.step_id, job.attempt + 1)])

    await queue.enqueue([Job("r1", "a", 1)])
    assert await queue.drain(handle) == 3
    assert [job.attempt for job in delivered] == [1, 2, 3]


async def test_a_waiting_memory_worker_wakes_when_a_job_arrives():
    queue = InMemoryJobQueue()
    waiter = asyncio.create_task(queue.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    await queue.enqueue([Job("r1", "a", 1)])
    async with asyncio.timeout(1):
        await waiter
    assert queue.take() == Job("r1", "a", 1)
    assert queue.take() is None
