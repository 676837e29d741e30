"""Server-Sent Events from a run's event iterator, with keep-alive comments in between.

The run's events are pumped into a queue by a task of their own, so waiting for the next
one can time out (and send a keep-alive) without cancelling the iterator mid-step.

When the server begins to stop, an open stream says so in a last comment and ends: the
server then finishes its shutdown at once instead of waiting out its grace period, and the
client reconnects (to another process, or this one once back) with ``Last-Event-ID``.

A stream may last as long as its run; ``while_allowed`` ends it when the key (or the
console session) that opened it no longer holds, checked every ``RECHECK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
from litestar.response.sse import ServerSentEventMessage

from wfa.domain.events import Event, event_type

KEEP_ALIVE_SECONDS = 15.0
RECHECK_SECONDS = 10.0  # how often an open stream checks that its caller may still read it
STOPPING_COMMENT = "server stopping; reconnect with Last-Event-ID"
# Sent with the last comment: browsers' EventSource waits this long before reconnecting.
RECONNECT_AFTER_MS = 2000
_END = object()


async def event_stream(
    events: AsyncIterator[Event],
    stopping: asyncio.Event,
    keep_alive: float = KEEP_ALIVE_SECONDS,
) -> AsyncIterator[ServerSentEventMessage]:
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=100)
    pump = asyncio.create_task(_pump(events, queue))
    stop = asyncio.ensure_future(stopping.wait())
    get: asyncio.Future[object] | None = None
    try:
        while True:
            get = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                (get, stop), timeout=keep_alive, return_when=asyncio.FIRST_COMPLETED
            )
            if stop in done or not done:
                get.cancel()  # an event taken from the queue now is sent again on reconnect
                if stop in done:
                    yield ServerSentEventMessage(
                        comment=STOPPING_COMMENT, data=None, retry=RECONNECT_AFTER_MS
                    )
                    return
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            item = get.result()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Event)
            yield ServerSentEventMessage(
                data=msgspec.json.encode(item).decode(), event=event_type(item), id=item.seq
            )
    finally:
        for waiting in (stop, get):
            if waiting is not None:
                waiting.cancel()
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


async def while_allowed(
    messages: AsyncIterator[ServerSentEventMessage], allowed: Callable[[], Awaitable[bool]]
) -> AsyncIterator[ServerSentEventMessage]:
    """The messages until ``allowed`` says no (asked at most every ``RECHECK_SECONDS``;
    keep-alives come every ``KEEP_ALIVE_SECONDS``, so a quiet stream is asked too)."""
    checked = time.monotonic()
    async for message in messages:
        if time.monotonic() - checked >= RECHECK_SECONDS:
            if not await allowed():
                return
            checked = time.monotonic()
        yield message
