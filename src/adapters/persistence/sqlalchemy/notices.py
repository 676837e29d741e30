"""Notices in SQL: an outbox written with the run events they report. Senders hold a batch
for a while (``held_until``), taken with ``SKIP LOCKED``, so several never post one at once
and one that died lets go when its hold runs out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.held_rows import delete_batch, hold
from wfa.adapters.persistence.sqlalchemy.tables import notices
from wfa.application.ports.repositories import StoredNotice
from wfa.domain.notices import Notice

_rows = notices.c


class SqlNotices:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, found: Sequence[Notice], due_at: datetime) -> None:
        for notice in found:
            try:
                async with self._db.begin_nested():
                    await self._db.execute(
                        insert(notices).values(id=notice.id, notice=notice, due_at=due_at)
                    )
            except IntegrityError:
                continue  # decided before: it is there already

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[StoredNotice]:
        free = or_(_rows.held_until.is_(None), _rows.held_until <= now)
        query = select(_rows.id, _rows.notice, _rows.attempts)
        query = query.where(_rows.done_at.is_(None), _rows.due_at <= now, free)
        rows = await hold(
            self._db, notices, query.order_by(_rows.due_at).limit(limit), _rows.held_until, until
        )
        return [
            StoredNotice(notice=msgspec.convert(row.notice, Notice), attempts=row.attempts)
            for row in rows
        ]

    async def retry(self, notice_id: str, attempts: int, due_at: datetime, error: str) -> None:
        await self._db.execute(
            update(notices)
            .where(_rows.id == notice_id)
            .values(attempts=attempts, due_at=due_at, held_until=None, last_error=error[:1000])
        )

    async def done(self, notice_id: str, at: datetime, error: str | None = None) -> None:
        values: dict[str, object] = {"done_at": at, "held_until": None}
        if error is not None:
            values["last_error"] = error[:1000]
        await self._db.execute(update(notices).where(_rows.id == notice_id).values(**values))

    async def prune(self, done_before: datetime, limit: int) -> int:
        return await delete_batch(self._db, notices, _rows.id, _rows.done_at < done_before, limit)
