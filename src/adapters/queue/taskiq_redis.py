"""The job queue on a Redis stream, through taskiq's RedisStreamBroker and one consumer group.

Delivery is at least once. Each job is one stream entry; a worker of the group reads it into
its pending list and acks it (XACK) only after ``ExecuteStep.execute`` returned, that is after
the step's outcome is committed. A handler that raised, or a worker cut off or killed before
its ack, leaves the entry pending; once it has been idle for ``idle_timeout_ms`` any worker of
the group claims it (XAUTOCLAIM) and runs it again. A step still running at the idle timeout is
delivered twice as well: ``ExecuteStep`` ignores duplicates, so this costs one transaction.
Upstream's broker looks for idle entries only after reading new ones; ours also looks on a
quiet stream. The reclaim lock expires after ``unacknowledged_lock_timeout`` seconds, so a
killed worker cannot keep it (taskiq-redis#131). ``maxlen`` trims the stream approximately,
since XACK deletes nothing; set it well above any backlog you expect, or unread jobs go too.
The group is created at the stream's start ("0"), so jobs sent before any worker ran are kept.
No taskiq retries or schedules: a failed attempt is a recorded outcome whose retry and backoff
the engine decides, and the engine's timers send again any job the queue loses. Should Redis
be unreachable, ``enqueue`` logs and returns, and those timers send the jobs later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Annotated, Any, Protocol, cast

import msgspec
from redis.asyncio import Redis
from redis.exceptions import LockError
from taskiq import AckableMessage, AsyncBroker, Context, TaskiqDepends
from taskiq.exceptions import SendTaskError
from taskiq.kicker import AsyncKicker
from taskiq_redis import RedisStreamBroker

from wfa.domain.progress import Job

log = logging.getLogger(__name__)

TASK_NAME = "wfa.execute_step"
# Per message, so a worker acks after the outcome however its receiver is configured.
MANUAL_ACK = {"ack_type": "manual"}


class StepExecutor(Protocol):
    """What a worker task hands a job to: ``ExecuteStep``, or a fake in tests."""

    async def execute(self, job: Job) -> object: ...


def make_broker(
    redis_url: str,
    *,
    queue_name: str = "wfa:jobs",
    consumer_group: str = "wfa-workers",
    idle_timeout_ms: int = 300_000,
    unacknowledged_lock_timeout: float = 30.0,
    maxlen: int = 100_000,
    read_count: int = 1,
    read_block_ms: int = 2_000,
) -> RedisStreamBroker:
    """A broker for producers and workers alike; a worker also needs ``register_execute_step``.

    ``read_count`` stays small because an entry read but not started waits in this worker's
    pending list, where no other worker may take it before the idle timeout.
    """
    if read_count < 1 or read_block_ms < 1:  # BLOCK 0 waits forever: no reclaim on a quiet stream
        raise ValueError("read_count and read_block_ms must be at least 1")
    return JobStreamBroker(
        redis_url,
        queue_name=queue_name,
        consumer_group_name=consumer_group,
        consumer_id="0",
        idle_timeout=idle_timeout_ms,
        unacknowledged_lock_timeout=unacknowledged_lock_timeout,
        unacknowledged_batch_size=read_count,
        maxlen=maxlen,
        approximate=True,  # exact trimming costs a walk of the stream on every XADD
        xread_count=read_count,
        xread_block=read_block_ms,
        socket_connect_timeout=5.0,  # an unreachable host must not hang a request for minutes
        # A connection dropped without a word must not leave a worker blocked on it forever.
        socket_timeout=read_block_ms / 1000 + 10.0,
    )


class TaskiqJobQueue:
    """The ``JobQueue`` port: one stream entry per job, sent in order."""

    def __init__(self, broker: AsyncBroker) -> None:
        self._kicker: AsyncKicker[[list[Any]], None] = AsyncKicker(
            task_name=TASK_NAME, broker=broker, labels=dict(MANUAL_ACK)
        )

    async def enqueue(self, jobs: Sequence[Job]) -> None:
        for sent, job in enumerate(jobs):  # one after another, so the stream keeps their order
            try:
                await self._kicker.kiq(msgspec.to_builtins(job))
            except SendTaskError:  # the run has them recorded; its timers will send them again
                unsent = len(jobs) - sent
                log.warning("could not send %d job(s) to the queue", unsent, exc_info=True)
                return


def register_execute_step(broker: AsyncBroker, execute: Callable[[], StepExecutor]) -> None:
    """Register the worker task that hands each job to ``execute()``, then acks it."""

    # ``job`` defaults, so that a message without it is dropped, not redelivered forever.
    async def execute_step(
        job: Any = None, *, context: Annotated[Context, TaskiqDepends()]
    ) -> None:
        decoded = _decode(job)
        if decoded is not None:
            await execute().execute(decoded)
        await context.ack()  # only now: the outcome is committed, or the job was unreadable

    broker.register_task(execute_step, task_name=TASK_NAME, **MANUAL_ACK)


def _decode(job: Any) -> Job | None:
    try:
        return msgspec.convert(job, Job)
    except msgspec.ValidationError:  # no worker could ever read it: acking drops it for good
        log.error("dropping an unreadable job: %r", job)
        return None


_Entries = list[tuple[bytes, dict[bytes, bytes]]]  # stream entries: (id, fields)


class JobStreamBroker(RedisStreamBroker):
    """RedisStreamBroker whose workers also reclaim idle entries while no new ones arrive."""

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        loop = asyncio.get_running_loop()
        reclaim_at = 0.0
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                read = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    count=self.count,
                    block=self.block,
                )
                reader = asyncio.current_task()  # taskiq reads each message in a task of its own
                if reader is not None and reader.cancelling():
                    # A cancel that lands in a blocking read can be swallowed by the client
                    # (redis-py#2028): a worker told to stop would then read forever. What
                    # this read took stays pending and is reclaimed after the idle timeout.
                    raise asyncio.CancelledError
                for _stream, entries in cast("list[tuple[bytes, _Entries]] | None", read) or ():
                    for entry_id, fields in entries:
                        yield self._ackable(entry_id, fields)
                if loop.time() < reclaim_at:
                    continue
                claimed = await self._reclaim(redis)
                # Claim on while there is more; else look again after one read's wait.
                reclaim_at = loop.time() + (0 if claimed else self.block / 1000)
                for entry_id, fields in claimed:
                    yield self._ackable(entry_id, fields)

    async def _reclaim(self, redis: Redis) -> _Entries:
        """Take over entries idle longer than the idle timeout, one worker at a time."""
        lock = redis.lock(
            f"autoclaim:{self.consumer_group_name}:{self.queue_name}",
            timeout=self.unacknowledged_lock_timeout,
            blocking=False,
        )
        if not await lock.acquire():
            return []  # another worker is claiming right now
        try:
            reply = await redis.xautoclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                count=self.unacknowledged_batch_size,
            )
        finally:
            with contextlib.suppress(LockError):  # it expired: nothing left to release
                await lock.release()
        # Redis 7 drops trimmed entries from the pending list itself; older ones say None.
        return [(entry_id, fields) for entry_id, fields in reply[1] if fields]

    def _ackable(self, entry_id: bytes, fields: dict[bytes, bytes]) -> AckableMessage:
        async def ack() -> None:
            async with Redis(connection_pool=self.connection_pool) as redis:
                await redis.xack(self.queue_name, self.consumer_group_name, entry_id)

        return AckableMessage(data=fields[b"data"], ack=ack)
