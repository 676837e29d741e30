"""The job stream's listener ends when cancelled, even when the Redis client swallows it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from wfa.adapters.queue import taskiq_redis
from wfa.adapters.queue.taskiq_redis import make_broker

pytestmark = pytest.mark.asyncio

ENTRY = [(b"jobs", [(b"1-0", {b"data": b"job"})])]


class SwallowingRedis:
    """Hands out one entry, then blocks in reads that eat a cancellation, as redis-py's
    blocking commands can (redis-py#2028)."""

    reads = 0

    def __init__(self, **_: Any) -> None:
        pass

    async def __aenter__(self) -> SwallowingRedis:
        return self

    async def __aexit__(self, *_: Any) -> None:
        return None

    async def xreadgroup(self, *_: Any, **__: Any) -> Any:
        SwallowingRedis.reads += 1
        if SwallowingRedis.reads == 1:
            return ENTRY
        # The bug: the read is abandoned and the cancellation forgotten.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)
        return None


async def test_a_cancelled_listener_stops_even_if_the_client_swallowed_the_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(taskiq_redis, "Redis", SwallowingRedis)
    broker = make_broker("redis://127.0.0.1:1/0", read_block_ms=10)
    broker._reclaim = lambda redis: asyncio.sleep(0, [])  # type: ignore[method-assign]
    messages = broker.listen()
    # As taskiq's receiver does, every message is awaited in a task of its own.
    first = await asyncio.create_task(anext(messages))
    assert first.data == b"job"
    reading = asyncio.create_task(anext(messages))
    await asyncio.sleep(0.05)
    assert SwallowingRedis.reads > 2  # reading on, in the second task

    reading.cancel()
    done, _ = await asyncio.wait({reading}, timeout=2)

    assert done, "the listener kept reading after it was cancelled"
    assert reading.cancelled()
