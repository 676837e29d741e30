"""Recording wrappers around the in-memory queue and event publisher, for tests to inspect.

The adapters keep nothing once a job is taken or an event handed on; a test that needs
everything ever sent or published passes one of these where it builds the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.domain.events import Event
from wfa.domain.progress import Job


class RecordingJobQueue(InMemoryJobQueue):
    """The in-memory queue, remembering every job ever enqueued, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Job] = []

    async def enqueue(self, jobs: Sequence[Job]) -> None:
        self.sent.extend(jobs)
        await super().enqueue(jobs)


class RecordingEventPublisher(InMemoryEventPublisher):
    """The in-memory publisher, remembering every ``(run_id, event)`` published, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, Event]] = []

    async def publish(self, run_id: str, events: Sequence[Event]) -> None:
        self.published.extend((run_id, event) for event in events)
        await super().publish(run_id, events)
