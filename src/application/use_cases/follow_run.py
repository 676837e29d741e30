"""Follow a run: its history from a point, then its new events live, until it ends.

The stored history is the source of truth; the live feed only makes news fast. Events are
handed out in ``seq`` order without gaps or repeats: a gap in the feed is filled from the
history, and anything already handed out is skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from wfa.application.errors import NotFound
from wfa.application.ports.delivery import EventFeed
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.domain.events import TERMINAL_EVENTS, Event


class FollowRun:
    def __init__(self, uow: UnitOfWorkFactory, feed: EventFeed) -> None:
        self._uow, self._feed = uow, feed

    async def execute(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Yield the run's events after ``after_seq``; stop after the run ends.

        Raises NotFound (before yielding anything) for an unknown run.
        """
        async with self._feed.follow(run_id) as live:
            stored, finished = await self._stored(run_id, after_seq)
            last = after_seq
            for event in stored:
                yield event
                last = event.seq
            if finished:
                return
            async for event in live:
                if event.seq <= last:
                    continue
                missed = [event] if event.seq == last + 1 else (await self._stored(run_id, last))[0]
                for item in missed:
                    yield item
                    last = item.seq
                    if isinstance(item, TERMINAL_EVENTS):
                        return

    async def _stored(self, run_id: str, after_seq: int) -> tuple[list[Event], bool]:
        """History after ``after_seq``, cut after its first ending; and whether it ended."""
        async with self._uow() as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run", run_id)
            history = await uow.runs.history(run_id, after_seq)
        if history:
            return history, isinstance(history[-1], TERMINAL_EVENTS)
        return history, run.status.is_terminal
