"""Run events between processes: the event publisher and the event feed on Redis pub/sub.

Each run has a channel, ``{prefix}:run:{run_id}``; a message is the batch of events one move
committed, in msgspec JSON, decoded by the follower with a typed decoder. Pub/sub keeps nothing
and a slow or disconnected follower misses events: the port allows it, followers refill from
the stored history. So publishing never raises into the engine: a failure is logged, then
publishing pauses for ``pause_after_failure`` seconds so an outage costs one ``timeout``, not one
per move. A follower is handed its iterator only once Redis has confirmed its subscription, and
holds one pub/sub connection of the client's pool until its block ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from wfa.domain.events import Event, RunEvent

log = logging.getLogger(__name__)

# The engine awaits publish after each committed move: a Redis that is down must cost it a
# bounded delay, not the client's socket timeout times its retries (redis-py retries 10 times).
TIMEOUT = 1.0
PAUSE_AFTER_FAILURE = 5.0

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[RunEvent])


class RedisEventBus:
    """``EventPublisher`` and ``EventFeed`` over one Redis client, shared by every run."""

    def __init__(
        self,
        client: Redis,
        prefix: str = "wfa",
        *,
        timeout: float = TIMEOUT,
        pause_after_failure: float = PAUSE_AFTER_FAILURE,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = timeout
        self._pause_after_failure = pause_after_failure
        self._paused_until = 0.0  # time.monotonic() before which publishing is skipped

    def channel(self, run_id: str) -> str:
        """The pub/sub channel a run's events travel on."""
        return f"{self._prefix}:run:{run_id}"

    async def publish(self, run_id: str, events: Sequence[Event]) -> None:
        if not events or time.monotonic() < self._paused_until:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.publish(self.channel(run_id), _encoder.encode(list(events)))
        except (RedisError, OSError) as error:  # OSError covers TimeoutError too
            # Expected while Redis is down: one line per pause, not a traceback per move.
            self._paused_until = time.monotonic() + self._pause_after_failure
            log.warning(
                "run events not published, pausing for %ss: %r",
                self._pause_after_failure,
                error,
                extra={"run_id": run_id},
            )
        except Exception:
            # The events are committed already; raising would tell the engine its move failed.
            log.exception("run events not published", extra={"run_id": run_id})

    @asynccontextmanager
    async def follow(self, run_id: str) -> AsyncIterator[AsyncIterator[Event]]:
        """The run's events published while the block is open, as an async iterator.

        Raises RedisError or TimeoutError if Redis cannot be reached on entry; the iterator
        raises RedisError if the connection is lost for good while following.
        """
        pubsub = self._client.pubsub()
        try:
            await self._subscribe(pubsub, self.channel(run_id))
            yield _events(pubsub, run_id)
        finally:
            if pubsub.subscribed:
                # A Redis gone down must not hide the error that ended the block, if any.
                with suppress(RedisError, OSError):
                    await pubsub.unsubscribe()
            # Drops the connection and gives it back to the pool (redis-py leaves it unannotated).
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _subscribe(self, pubsub: PubSub, channel: str) -> None:
        # SUBSCRIBE is only sent here; until Redis confirms it, events published by another
        # connection could still be missed, so wait for the confirmation before yielding.
        async with asyncio.timeout(self._timeout):
            await pubsub.subscribe(channel)
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None and message["type"] == "subscribe":
                    return

    async def ping(self) -> None:
        """Raise RedisError or TimeoutError unless Redis answers in time: the readiness check."""
        async with asyncio.timeout(self._timeout):
            await self._client.ping()


async def _events(pubsub: PubSub, run_id: str) -> AsyncIterator[Event]:
    # listen() ends once the block's exit has closed the subscription.
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        try:
            batch = _decoder.decode(message["data"])
        except msgspec.DecodeError:
            # Not ours, or from an incompatible version: skip it; the history fills the gap.
            log.warning("undecodable message on a run channel", extra={"run_id": run_id})
            continue
        for event in batch:
            yield event
