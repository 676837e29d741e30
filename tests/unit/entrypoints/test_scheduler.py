"""The scheduler looks for due timers when the earliest one falls due, not a tick later."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from wfa.application.use_cases.fire_due_timers import Look
from wfa.application.use_cases.prune_runs import Retention
from wfa.entrypoints.roles import Scheduler

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class TimerSpy:
    """Stands in for FireDueTimers: fires nothing, says when its next timer is due."""

    def __init__(self, seconds_to_next: float | None) -> None:
        self.looks = 0
        self.looked = asyncio.Event()
        self._next = seconds_to_next

    async def look(self, limit: int) -> Look:
        self.looks += 1
        if self.looks >= 3:
            self.looked.set()
        at = None if self._next is None else NOW + timedelta(seconds=self._next)
        return Look(moved=0, next_at=at)

    def seconds_until(self, at: datetime) -> float:
        return (at - NOW).total_seconds()


def scheduler(timers: TimerSpy, interval: float) -> Scheduler:
    return Scheduler(cast(Any, timers), cast(Any, None), Retention(), interval=interval)


async def test_a_timer_due_before_the_next_tick_is_looked_for_when_it_falls_due():
    timers = TimerSpy(seconds_to_next=0.01)
    ticking = scheduler(timers, interval=3600)
    ticking.start()
    try:
        # An hour's interval: only sleeping until the timer brings the third look this soon.
        async with asyncio.timeout(10):
            await timers.looked.wait()
    finally:
        await ticking.stop()


async def test_without_timers_it_waits_for_the_next_tick():
    timers = TimerSpy(seconds_to_next=None)
    ticking = scheduler(timers, interval=3600)
    ticking.start()
    await asyncio.sleep(0.2)
    await ticking.stop()
    assert timers.looks == 1
