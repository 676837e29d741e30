"""The in-process queue and event publisher hold work only while it is in flight.

``wfa serve`` without Redis runs on them for as long as it lives: anything they kept per job
or per event would grow with every run, outputs included.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.domain.events import RunCreated
from wfa.domain.progress import Job


def created(run_id: str) -> RunCreated:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return RunCreated(seq=1, at=at, run_id=run_id, workflow_id="w", workflow_version=1)


async def test_publishing_to_a_run_nobody_follows_keeps_no_reference_to_its_events():
    publisher = InMemoryEventPublisher()
    event = created("r1")
    references = sys.getrefcount(event)
    await publisher.publish("r1", [event])
    assert sys.getrefcount(event) == references


async def test_a_follower_gets_what_is_published_and_its_run_is_forgotten_when_it_leaves():
    publisher = InMemoryEventPublisher()
    event = created("r1")
    references = sys.getrefcount(event)
    async with publisher.follow("r1") as live:
        await publisher.publish("r1", [event])
        assert await anext(live) == event
    await publisher.publish("r1", [event])  # a follower left behind would queue it again
    assert sys.getrefcount(event) == references


async def test_a_job_taken_from_the_queue_is_not_kept():
    queue = InMemoryJobQueue()
    job = Job("r1", "a", 1)
    references = sys.getrefcount(job)
    await queue.enqueue([job])
    assert queue.take() is job
    assert sys.getrefcount(job) == references
