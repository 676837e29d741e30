"""Getting work to workers and news to watchers: the job queue and the event publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from wfa.domain.events import Event
from wfa.domain.progress import Job


class JobQueue(Protocol):
    """Delivers step jobs to workers, at least once.

    The queue only makes delivery fast: every job is also recorded in the run's state, and a
    job that is lost is sent again when its timer comes due.
    """

    async def enqueue(self, jobs: Sequence[Job]) -> None: ...


class EventPublisher(Protocol):
    """Tells whoever follows a run (SSE clients, waiting webhooks) about its new events."""

    async def publish(self, run_id: str, events: Sequence[Event]) -> None: ...


class EventFeed(Protocol):
    """Lets a caller follow one run's events as they are published, from any process."""

    def follow(self, run_id: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Events of ``run_id`` published while the block is open, in publication order.

        Delivery is best effort (a follower may miss events, e.g. when it is slow); callers
        fill gaps from the stored history, which is the source of truth.
        """
        ...
