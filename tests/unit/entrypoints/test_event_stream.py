"""A run's SSE stream: keep-alives while quiet, and a last comment when the server stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from wfa.domain.events import Event, RunStarted
from wfa.entrypoints.http.streaming import STOPPING_COMMENT, event_stream

T0 = datetime(2030, 1, 1, tzinfo=UTC)


class Source:
    """One event, then silence until closed: a run that waits."""

    def __init__(self) -> None:
        self.closed = False

    async def events(self) -> AsyncIterator[Event]:
        try:
            yield RunStarted(seq=1, at=T0)
            await asyncio.Event().wait()
        finally:
            self.closed = True


async def test_the_server_stopping_ends_the_stream_with_a_reconnect_hint() -> None:
    source, stopping = Source(), asyncio.Event()
    stream = event_stream(source.events(), stopping, keep_alive=60)
    first = await anext(stream)
    assert (first.event, first.id) == ("run.started", 1)

    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    assert not pending.done(), "a quiet run keeps its stream open"
    stopping.set()
    last = await asyncio.wait_for(pending, 1)
    assert (last.comment, last.data, last.retry) == (STOPPING_COMMENT, None, 2000)
    assert [message async for message in stream] == []
    assert source.closed, "the run's events are no longer followed"


async def test_a_stream_opened_while_stopping_ends_at_once() -> None:
    source, stopping = Source(), asyncio.Event()
    stopping.set()
    messages = [m async for m in event_stream(source.events(), stopping, keep_alive=60)]
    assert messages[-1].comment == STOPPING_COMMENT
    assert len(messages) <= 2


async def test_silence_is_broken_by_keep_alive_comments() -> None:
    source = Source()
    stream = event_stream(source.events(), asyncio.Event(), keep_alive=0.01)
    assert (await anext(stream)).event == "run.started"
    assert (await anext(stream)).comment == "keep-alive"
    await stream.aclose()
    assert source.closed
