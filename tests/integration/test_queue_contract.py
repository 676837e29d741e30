"""The job-queue contract: every job enqueued is delivered, in order, at least once."""

from __future__ import annotations

import asyncio

import pytest

from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.domain.progress import Job


@pytest.fixture(params=["memory"])
def queue(request: pytest.FixtureRequest) -> InMemoryJobQueue:
    return InMemoryJobQueue()


async def test_jobs_are_delivered_in_the_order_they_were_sent(queue):
    jobs = [Job("r1", "a", 1), Job("r2", "b", 1), Job("r1", "a", 2)]
    await queue.enqueue(jobs[:2])
    await queue.enqueue(jobs[2:])
    delivered: list[Job] = []

    async def handle(job: Job) -> None:
        delivered.append(job)

    assert await queue.drain(handle) == 3
    assert delivered == jobs


async def test_jobs_sent_while_handling_are_delivered_in_the_same_drain(queue):
    delivered: list[Job] = []

    async def handle(job: Job) -> None:
        delivered.append(job)
        if job.attempt < 3:
            await queue.enqueue([Job(job.run_id, job.step_id, job.attempt + 1)])

    await queue.enqueue([Job("r1", "a", 1)])
    await queue.drain(handle)
    assert [job.attempt for job in delivered] == [1, 2, 3]


async def test_a_waiting_worker_wakes_when_a_job_arrives(queue):
    waiter = asyncio.create_task(queue.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    await queue.enqueue([Job("r1", "a", 1)])
    async with asyncio.timeout(1):
        await waiter
    assert queue.take() == Job("r1", "a", 1)
    assert queue.take() is None
