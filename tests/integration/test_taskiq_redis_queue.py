"""The Redis stream queue beyond the contract: acks after the step, reclaim, trimming, restarts.

Runs against WFA_TEST_REDIS_URL with a stream and a consumer group per test, an idle timeout
of half a second and reads that block for 50 ms, so that a reclaim takes about a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from taskiq.kicker import AsyncKicker

from tests.queues import FakeExecuteStep, RedisDelivery, redis_delivery
from wfa.adapters.queue.taskiq_redis import MANUAL_ACK, TASK_NAME, TaskiqJobQueue, make_broker
from wfa.adapters.queue.taskiq_worker import run_worker
from wfa.domain.progress import Job

IDLE_TIMEOUT = 0.5  # seconds, as RedisDelivery sets it


@pytest.fixture
async def delivery() -> AsyncIterator[RedisDelivery]:
    async with redis_delivery() as queue:
        yield queue


@pytest.fixture
async def redis(delivery: RedisDelivery) -> AsyncIterator[Redis]:
    async with Redis.from_url(delivery.url) as client:
        yield client


async def pending(redis: Redis, delivery: RedisDelivery) -> list[dict[str, Any]]:
    """The group's entries read by a worker and not acked yet."""
    return await redis.xpending_range(delivery.name, delivery.name, "-", "+", 100)


async def test_a_job_is_acked_once_the_step_returned_and_not_before(delivery, redis):
    seen_pending: list[int] = []

    async def handle(job: Job) -> None:
        seen_pending.append(len(await pending(redis, delivery)))

    await delivery.queue.enqueue([Job("r1", "a", 1)])
    await delivery.deliver(handle, count=1)
    assert seen_pending == [1]  # while the step ran, its entry was still pending
    assert await pending(redis, delivery) == []
    assert await redis.xlen(delivery.name) == 1  # acked, not deleted: maxlen trims it later


async def test_a_job_whose_step_raised_is_claimed_again_after_the_idle_timeout(delivery, redis):
    loop = asyncio.get_running_loop()
    calls: list[tuple[float, int]] = []  # (when, how often Redis has delivered it)

    async def handle(job: Job) -> None:
        (entry,) = await pending(redis, delivery)
        calls.append((loop.time(), entry["times_delivered"]))
        if len(calls) == 1:
            raise RuntimeError("the database went away mid-step")

    await delivery.queue.enqueue([Job("r1", "a", 1)])
    # Nothing else is sent: the stream is quiet, and the entry must come back all the same.
    await delivery.deliver(handle, count=1)  # one successful handling, after the failed one
    (first, first_count), (second, second_count) = calls
    assert (first_count, second_count) == (1, 2)  # a second delivery by XAUTOCLAIM
    assert second - first >= IDLE_TIMEOUT * 0.9
    assert await pending(redis, delivery) == []


async def test_a_job_cut_off_by_a_stopping_worker_is_taken_over_by_another(delivery, redis):
    started, cut_off = asyncio.Event(), asyncio.Event()

    class Stuck:
        async def execute(self, job: Job) -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cut_off.set()
                raise

    await delivery.queue.enqueue([Job("r1", "a", 1)])
    async with delivery.worker(Stuck(), grace=0.2) as first_worker:
        async with asyncio.timeout(5):
            await started.wait()
    assert cut_off.is_set()
    (entry,) = await pending(redis, delivery)
    assert entry["consumer"].decode() == first_worker.consumer_name

    delivered: list[Job] = []
    await delivery.deliver(lambda job: asyncio.sleep(0, delivered.append(job)), count=1)
    assert delivered == [Job("r1", "a", 1)]
    assert await pending(redis, delivery) == []


async def test_a_worker_runs_as_many_jobs_at_once_as_its_concurrency(delivery, redis):
    running, most = 0, 0

    async def handle(job: Job) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1

    await delivery.queue.enqueue([Job(f"r{n}", "a", 1) for n in range(6)])
    await delivery.deliver(handle, count=6, concurrency=2)
    assert most == 2
    assert await pending(redis, delivery) == []


async def test_the_stream_is_trimmed_to_about_maxlen(redis):
    async with redis_delivery(maxlen=20) as capped:
        await capped.queue.enqueue([Job(f"r{n}", "a", 1) for n in range(300)])
        length = await redis.xlen(capped.name)
    # Approximate trimming removes whole nodes of the stream (100 entries by default).
    assert 20 <= length <= 20 + 100


async def test_a_job_travels_as_one_compact_array(delivery, redis):
    await delivery.queue.enqueue([Job("r1", "a", 2)])
    ((_, fields),) = await redis.xrange(delivery.name)
    message = json.loads(fields[b"data"])
    assert message["task_name"] == TASK_NAME
    assert message["args"] == [["r1", "a", 2]]
    assert message["labels"]["ack_type"] == "manual"


async def test_an_unreadable_job_is_acked_and_dropped(delivery, redis):
    kicker = AsyncKicker(task_name=TASK_NAME, broker=delivery.broker, labels=dict(MANUAL_ACK))
    await kicker.kiq(["r1", "a", "not a number"])
    await kicker.kiq()
    await delivery.queue.enqueue([Job("r2", "a", 1)])
    delivered: list[Job] = []
    await delivery.deliver(lambda job: asyncio.sleep(0, delivered.append(job)), count=1)
    assert delivered == [Job("r2", "a", 1)]
    assert await pending(redis, delivery) == []


async def test_a_worker_listens_again_when_its_stream_is_deleted(delivery, redis):
    fake = FakeExecuteStep(lambda job: asyncio.sleep(0), count=1)
    async with delivery.worker(fake):
        await asyncio.sleep(0.2)  # blocked in XREADGROUP by now
        await redis.delete(delivery.name)  # as FLUSHDB would: the consumer group goes too
        await delivery.queue.enqueue([Job("r1", "a", 1)])
        await fake.wait()
    assert await pending(redis, delivery) == []


async def test_sending_to_an_unreachable_redis_logs_and_returns(caplog):
    broker = make_broker("redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING):
        await TaskiqJobQueue(broker).enqueue([Job("r1", "a", 1), Job("r1", "b", 1)])
    await broker.shutdown()
    assert "could not send 2 job(s)" in caplog.text


async def test_a_worker_needs_a_concurrency_of_at_least_one():
    broker = make_broker("redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match="at least 1"):
        await run_worker(broker, concurrency=0, stop=asyncio.Event())


async def test_a_worker_waits_for_an_unreachable_redis_until_it_is_stopped(caplog):
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(
            make_broker("redis://127.0.0.1:1/0"), concurrency=1, stop=stop, restart_delay=0.05
        )
    )
    await asyncio.sleep(0.2)
    assert not worker.done()
    stop.set()
    async with asyncio.timeout(2):
        await worker
    assert "the worker lost the queue" in caplog.text


def test_a_broker_must_not_block_its_reads_forever():
    with pytest.raises(ValueError, match="at least 1"):
        make_broker("redis://127.0.0.1:1/0", read_block_ms=0)
