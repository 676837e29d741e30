"""Schedules in SQL: a row per schedule trigger, locked while a scheduler weighs its fires."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.tables import schedules
from wfa.domain.schedule import Schedule


def _row(schedule: Schedule) -> dict[str, Any]:
    return {**msgspec.structs.asdict(schedule), "key": schedule.key}


def _schedule(row: Any) -> Schedule:
    values = dict(row._mapping)
    del values["key"]
    return Schedule(**values)


class SqlSchedules:
    def __init__(self, connection: AsyncConnection, dialect: str) -> None:
        self._db, self._dialect = connection, dialect

    async def for_workflow(self, workflow_id: str) -> list[Schedule]:
        query = (
            select(schedules)
            .where(schedules.c.workflow_id == workflow_id)
            .order_by(schedules.c.key)
        )
        return [_schedule(row) for row in await self._db.execute(query)]

    async def replace(self, workflow_id: str, wanted: Sequence[Schedule]) -> None:
        await self._db.execute(delete(schedules).where(schedules.c.workflow_id == workflow_id))
        if wanted:
            await self._db.execute(insert(schedules), [_row(schedule) for schedule in wanted])

    async def due(self, now: datetime, limit: int) -> list[Schedule]:
        query = (
            select(schedules)
            .where(or_(schedules.c.next_fire_at <= now, schedules.c.buffered_fire_at.is_not(None)))
            .order_by(schedules.c.next_fire_at, schedules.c.workflow_id, schedules.c.key)
            .limit(limit)
        )
        if self._dialect == "postgresql":
            # A schedule another scheduler is weighing is skipped, not waited for.
            query = query.with_for_update(skip_locked=True)
        return [_schedule(row) for row in await self._db.execute(query)]

    async def save(self, schedule: Schedule) -> None:
        values = _row(schedule)
        await self._db.execute(
            update(schedules)
            .where(
                schedules.c.workflow_id == schedule.workflow_id,
                schedules.c.key == schedule.key,
            )
            .values(**values)
        )
