"""Server-Sent Events from a run's event iterator, with keep-alive comments in between.

The run's events are pumped into a queue by a task of their own, so waiting for the next
one can time out (and send a keep-alive) without cancelling the iterator mid-step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
from litestar.response.sse import ServerSentEventMessage

from wfa.domain.events import Event, event_type

KEEP_ALIVE_SECONDS = 15.0
_END = object()


async def event_stream(
    events: AsyncIterator[Event], keep_alive: float = KEEP_ALIVE_SECONDS
) -> AsyncIterator[ServerSentEventMessage]:
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=100)
    pump = asyncio.create_task(_pump(events, queue))
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), keep_alive)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Event)
            yield ServerSentEventMessage(
                data=msgspec.json.encode(item).decode(), event=event_type(item), id=item.seq
            )
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


async def _pump(events: AsyncIterator[Event], queue: asyncio.Queue[object]) -> None:
    try:
        async for event in events:
            await queue.put(event)
    except Exception as error:  # handed to the response, which ends the stream
        await queue.put(error)
        return
    await queue.put(_END)
