"""Schedules in memory, staged in the unit of work like everything the memory adapter keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from wfa.adapters.persistence.memory_staging import current
from wfa.domain.schedule import Schedule

ScheduleKey = tuple[str, str]  # (workflow id, schedule key)


class MemorySchedules:
    def __init__(
        self, stored: dict[ScheduleKey, Schedule], staged: dict[ScheduleKey, Schedule | None]
    ) -> None:
        self._stored, self.staged = stored, staged

    def _current(self) -> dict[ScheduleKey, Schedule]:
        return current(self._stored, self.staged)

    async def for_workflow(self, workflow_id: str) -> list[Schedule]:
        found = [s for (owner, _), s in self._current().items() if owner == workflow_id]
        return sorted(found, key=lambda schedule: schedule.key)

    async def replace(self, workflow_id: str, schedules: Sequence[Schedule]) -> None:
        for schedule in await self.for_workflow(workflow_id):
            self.staged[(workflow_id, schedule.key)] = None
        for schedule in schedules:
            self.staged[(workflow_id, schedule.key)] = schedule

    async def due(self, now: datetime, limit: int) -> list[Schedule]:
        due = [
            schedule
            for schedule in self._current().values()
            if schedule.next_fire_at <= now or schedule.buffered_fire_at is not None
        ]
        due.sort(key=lambda schedule: (schedule.next_fire_at, schedule.workflow_id, schedule.key))
        return due[:limit]

    async def save(self, schedule: Schedule) -> None:
        self.staged[(schedule.workflow_id, schedule.key)] = schedule
