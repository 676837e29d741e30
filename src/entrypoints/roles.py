"""The long-running loops of the roles: the worker takes jobs, the scheduler fires timers.

``wfa serve`` runs both beside the API in one process on the in-process queue; each loop
stops at a signal, letting in-flight steps finish for a grace period. A step cut off then
is not lost: its lease runs out and it is retried under its retry policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.application.use_cases.events import HandleEvents
from wfa.application.use_cases.execute_step import ExecuteStep
from wfa.application.use_cases.fire_due_timers import CLOCK_SLACK, FireDueTimers
from wfa.application.use_cases.fire_schedules import FireSchedules
from wfa.application.use_cases.notices import SendNotices
from wfa.application.use_cases.prune_runs import PruneRuns, Retention

log = logging.getLogger(__name__)

TIMER_BATCH = 500
EVENT_BATCH = 50
OUTBOX_EVERY = 1.0  # seconds between looks for unhandled events and due notices
SCHEDULE_BATCH = 100
MIN_GAP = 0.02  # seconds at least between two looks for due timers


class LocalWorker:
    """``concurrency`` consumers of the in-process queue."""

    def __init__(self, queue: InMemoryJobQueue, execute: ExecuteStep, concurrency: int = 8) -> None:
        self._queue, self._execute, self._concurrency = queue, execute, concurrency
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._consume()) for _ in range(self._concurrency)]

    async def stop(self, grace: float = 10.0) -> None:
        """Take no new job; wait up to ``grace`` seconds for the jobs in hand, then cut off."""
        self._stopping.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _consume(self) -> None:
        while not self._stopping.is_set():
            job = self._queue.take()
            if job is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._queue.wait()
                continue
            try:
                await self._execute.execute(job)
            except Exception:  # one bad job must not stop the worker; its timer retries it
                log.exception("job %s failed in the worker", job)


class Scheduler:
    """Fires due timers as they fall due, and every ``interval`` seconds fires schedules and
    handles published events; applies retention hourly.

    Between looks it sleeps until the earliest timer still to come (found in the same
    transaction as the due ones, at the same instant, so that none falls between), at most
    until the next tick: a wait or a retry's backoff ends on time, not up to a tick late.
    Looks are at least ``MIN_GAP`` apart, so a dense stream of timers costs at most
    ``1 / MIN_GAP`` transactions a second.
    """

    def __init__(
        self,
        fire: FireDueTimers,
        prune: PruneRuns,
        retention: Retention,
        interval: float = 0.25,
        prune_every: timedelta = timedelta(hours=1),
        schedules: FireSchedules | None = None,
        events: HandleEvents | None = None,
        notices: SendNotices | None = None,
    ) -> None:
        self._fire, self._prune, self._retention = fire, prune, retention
        self._schedules = schedules
        self._events = events
        self._notices = notices
        self._interval, self._prune_every = interval, prune_every.total_seconds()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_prune = next_outbox = next_tick = loop.time()
        while not self._stopping.is_set():
            if loop.time() >= next_tick:
                next_tick = loop.time() + self._interval
                await self._fire_schedules()
            # Events and notices are a fallback here (the API handles an event as it takes
            # it) and may wait a second: an idle tick then costs no extra transactions.
            if loop.time() >= next_outbox:
                next_outbox = loop.time() + OUTBOX_EVERY
                await self._handle_outbox()
            pause = self._interval
            looked_at = loop.time()
            try:
                while (look := await self._fire.look(TIMER_BATCH)).moved >= TIMER_BATCH:
                    pass  # a full batch: more may be due right now
                if self._retention.enabled and loop.time() >= next_prune:
                    next_prune = loop.time() + self._prune_every
                    pruned = await self._prune.execute(self._retention)
                    if pruned:
                        log.info("retention pruned %d finished runs", pruned)
                until_tick = next_tick - loop.time()
                if look.next_at is not None:
                    until_due = self._fire.seconds_until(look.next_at) + CLOCK_SLACK
                    until_tick = min(until_tick, until_due)
                # At most one look every MIN_GAP, however dense the timers.
                pause = max(until_tick, looked_at + MIN_GAP - loop.time(), 0.0)
            except Exception:  # the database may be briefly away; try again next tick
                log.exception("the scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._stopping.wait()

    async def _fire_schedules(self) -> None:
        if self._schedules is None:
            return
        try:
            await self._schedules.execute(SCHEDULE_BATCH)
        except Exception:  # timers must still fire when a schedule cannot
            log.exception("firing schedules failed")

    async def _handle_outbox(self) -> None:
        if self._events is not None:
            try:
                while await self._events.execute(EVENT_BATCH) >= EVENT_BATCH:
                    pass  # a full batch: more may be waiting
            except Exception:  # an event is held for a while, then handled again
                log.exception("handling published events failed")
        if self._notices is not None:
            try:
                await self._notices.execute(EVENT_BATCH)
            except Exception:  # a notice is held for a while, then posted again
                log.exception("posting notices failed")
