"""Schedule triggers as kept between fires, and what a scheduler does when fires come due.

A ``Schedule`` is one schedule trigger of a workflow with its next fire time. ``plan_fires``
decides, for a moment ``now``, which due fires start runs, which are skipped (older than the
catch-up window, or overlapping a run still going), and the schedule's state after them. It
is pure: the caller says whether the schedule's last run is still going.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from wfa.domain.cron import FireTimes
from wfa.domain.definition import Overlap, ScheduleTrigger
from wfa.domain.workflow import Workflow

MAX_FIRES_PER_PLAN = 100
"""Fires weighed in one plan; a schedule further behind goes on at the next tick."""


class Schedule(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: str
    cron: str
    timezone: str
    overlap: Overlap
    next_fire_at: datetime
    last_fire_at: datetime | None = None
    last_run_id: str | None = None
    buffered_fire_at: datetime | None = None  # one fire held back by ``buffer_one``

    @property
    def key(self) -> str:
        """What names this schedule within its workflow: a trigger is its cron and zone."""
        return schedule_key(self.cron, self.timezone)

    @property
    def fire_times(self) -> FireTimes:
        return FireTimes(self.cron, self.timezone)


def schedule_key(cron: str, timezone: str) -> str:
    return f"{cron.strip()}|{timezone}"


class SkippedFire(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    reason: str


class FirePlan(msgspec.Struct, frozen=True, kw_only=True):
    start: tuple[datetime, ...]  # fire times that start runs now, earliest first
    skipped: tuple[SkippedFire, ...]
    missed_before: datetime | None  # fires before this were older than the catch-up window
    schedule: Schedule  # the state after the plan, except the runs' ids

    @property
    def changed(self) -> bool:
        return bool(self.start or self.skipped or self.missed_before)


def plan_fires(
    schedule: Schedule, now: datetime, catchup: timedelta, last_run_active: bool
) -> FirePlan:
    """What to do with the fires of ``schedule`` due at ``now``."""
    times = schedule.fire_times
    window_start = now - catchup
    missed_before = None
    next_fire = schedule.next_fire_at
    if next_fire < window_start:
        missed_before = window_start
        next_fire = times.next_after(window_start - timedelta(microseconds=1))
    due: list[datetime] = []
    while next_fire <= now and len(due) < MAX_FIRES_PER_PLAN:
        due.append(next_fire)
        next_fire = times.next_after(next_fire)
    start, skipped, buffered = _apply_overlap(schedule, due, last_run_active)
    after = msgspec.structs.replace(schedule, next_fire_at=next_fire, buffered_fire_at=buffered)
    return FirePlan(
        start=tuple(start), skipped=tuple(skipped), missed_before=missed_before, schedule=after
    )


def _apply_overlap(
    schedule: Schedule, due: list[datetime], active: bool
) -> tuple[list[datetime], list[SkippedFire], datetime | None]:
    start: list[datetime] = []
    skipped: list[SkippedFire] = []
    buffered = schedule.buffered_fire_at
    if buffered is not None and not active:
        start.append(buffered)
        buffered, active = None, True
    for at in due:
        if not active or schedule.overlap == "allow":
            start.append(at)
            active = True
        elif schedule.overlap == "buffer_one" and buffered is None:
            buffered = at
        else:
            reason = (
                "one fire is buffered already"
                if schedule.overlap == "buffer_one"
                else "the previous run is still going"
            )
            skipped.append(SkippedFire(at=at, reason=reason))
    return start, skipped, buffered


def schedules_for(
    workflow: Workflow, existing: Sequence[Schedule], now: datetime
) -> list[Schedule]:
    """The schedules a workflow version has: kept ones keep their state, new ones fire next."""
    kept = {schedule.key: schedule for schedule in existing}
    result = []
    for trigger in workflow.definition.triggers:
        if not isinstance(trigger, ScheduleTrigger):
            continue
        old = kept.get(schedule_key(trigger.cron, trigger.timezone))
        if old is not None:
            result.append(msgspec.structs.replace(old, overlap=trigger.overlap))
            continue
        result.append(
            Schedule(
                workflow_id=workflow.id,
                cron=trigger.cron.strip(),
                timezone=trigger.timezone,
                overlap=trigger.overlap,
                next_fire_at=FireTimes(trigger.cron, trigger.timezone).next_after(now),
            )
        )
    return result


def fire_input(schedule: Schedule, at: datetime) -> dict[str, str]:
    """What a scheduled run gets as its input: which fire it serves."""
    return {
        "fire_time": at.isoformat().replace("+00:00", "Z"),
        "cron": schedule.cron,
        "timezone": schedule.timezone,
    }


def fire_key(schedule: Schedule, at: datetime) -> str:
    """The idempotency key of a fire's run: one run per schedule and fire time, ever."""
    return f"schedule:{schedule.key}:{at.isoformat()}"
