"""In-process event publishing: followers of a run get its new events as they happen.

It keeps nothing once an event is handed on: a run nobody follows costs no memory here,
and each follower's backlog is bounded.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from wfa.domain.events import Event

FOLLOWER_BACKLOG = 1000


class InMemoryEventPublisher:
    def __init__(self) -> None:
        # Only runs someone follows right now have an entry: it leaves with their last follower.
        self._followers: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)

    async def publish(self, run_id: str, events: Sequence[Event]) -> None:
        for follower in self._followers.get(run_id, ()):
            for event in events:
                if follower.full():
                    break  # a stalled follower misses events; it refills from the history
                follower.put_nowait(event)

    @asynccontextmanager
    async def follow(self, run_id: str) -> AsyncIterator[AsyncIterator[Event]]:
        """The run's events published while the block is open, as an async iterator."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=FOLLOWER_BACKLOG)
        self._followers[run_id].add(queue)
        try:
            yield _drain(queue)
        finally:
            self._followers[run_id].discard(queue)
            if not self._followers[run_id]:
                del self._followers[run_id]


async def _drain(queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    while True:
        yield await queue.get()
