"""Start the runs of schedule triggers whose fires are due.

A batch of due schedules is weighed in one transaction: each fire that starts a run is
written as that run (its idempotency key names the schedule and the fire time) in the same
transaction that moves the schedule past the fire. A crash before the commit loses neither
(the schedule is still due); a crash after it duplicates neither (the fire is behind the
schedule, and its run is stored and recovered like any other). On PostgreSQL the due rows
are locked and skipped by other schedulers, so several of them never weigh one fire twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import msgspec

from wfa.application.errors import NotFound
from wfa.application.ports.clock import Clock
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.domain.progress import Decision
from wfa.domain.schedule import FirePlan, Schedule, fire_input, fire_key, plan_fires

log = logging.getLogger(__name__)

DEFAULT_CATCHUP = timedelta(hours=1)


class FireSchedules:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        start: StartRun,
        clock: Clock,
        catchup: timedelta = DEFAULT_CATCHUP,
    ) -> None:
        self._uow, self._start, self._clock, self._catchup = uow, start, clock, catchup

    async def execute(self, limit: int = 100) -> int:
        """Weigh up to ``limit`` due schedules; return how many runs their fires started."""
        started: list[Decision] = []
        async with self._uow() as uow:
            now = self._clock.now()
            due = await uow.schedules.due(now, limit)
            for schedule in due:
                started += await self._fire(uow, schedule, now)
            if due:
                await uow.commit()
        for decision in started:
            try:
                await self._start.deliver(decision)
            except Exception:  # the run is stored: its redelivery timer sends the job again
                log.warning("the first job of run %s was not sent", decision.run.id, exc_info=True)
        return len(started)

    async def _fire(self, uow: UnitOfWork, schedule: Schedule, now: datetime) -> list[Decision]:
        active = await self._last_run_active(uow, schedule)
        plan = plan_fires(schedule, now, self._catchup, active)
        _report(schedule, plan)
        after, started = plan.schedule, list[Decision]()
        for at in plan.start:
            try:
                decision = await self._start_fire(uow, schedule, at)
            except NotFound:  # the workflow went away; so do its schedules
                log.info("schedule %r of a deleted workflow dropped", schedule.key)
                await uow.schedules.replace(schedule.workflow_id, [])
                return started
            if decision is not None:
                started.append(decision)
                after = msgspec.structs.replace(after, last_run_id=decision.run.id)
            after = msgspec.structs.replace(after, last_fire_at=at)
        if after != schedule:
            await uow.schedules.save(after)
        return started

    async def _start_fire(
        self, uow: UnitOfWork, schedule: Schedule, at: datetime
    ) -> Decision | None:
        key = fire_key(schedule, at)
        if await uow.runs.by_idempotency_key(schedule.workflow_id, key) is not None:
            log.warning("schedule %r fire %s has its run already", schedule.key, at.isoformat())
            return None
        request = StartRunRequest(
            workflow_id=schedule.workflow_id,
            input=fire_input(schedule, at),
            trigger="schedule",
            idempotency_key=key,
        )
        return await self._start.start_in(uow, request)

    async def _last_run_active(self, uow: UnitOfWork, schedule: Schedule) -> bool:
        if schedule.last_run_id is None:
            return False
        run = await uow.runs.get(schedule.last_run_id)
        return run is not None and not run.status.is_terminal


def _report(schedule: Schedule, plan: FirePlan) -> None:
    where = {"workflow_id": schedule.workflow_id}
    if plan.missed_before is not None:
        log.warning(
            "schedule %r skipped the fires from %s to %s: older than the catch-up window",
            schedule.key,
            schedule.next_fire_at.isoformat(),
            plan.missed_before.isoformat(),
            extra=where,
        )
    for skipped in plan.skipped:
        log.info(
            "schedule %r skipped its fire at %s: %s",
            schedule.key,
            skipped.at.isoformat(),
            skipped.reason,
            extra=where,
        )
