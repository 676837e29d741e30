"""Published events in SQL: the primary key on ``id`` makes an event with an id stored once;
handlers hold a batch for a while (``claimed_until``), taken with ``SKIP LOCKED``, so several
never handle one event at once and one that died lets go when its hold runs out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.held_rows import delete_batch, hold
from wfa.adapters.persistence.sqlalchemy.tables import published_events
from wfa.application.ports.repositories import PublishedEvent

_rows = published_events.c


class SqlPublishedEvents:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, event: PublishedEvent) -> bool:
        try:
            async with self._db.begin_nested():
                await self._db.execute(
                    insert(published_events).values(
                        id=event.id,
                        name=event.name,
                        payload=event.payload,
                        received_at=event.received_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def get(self, event_id: str) -> PublishedEvent | None:
        row = (await self._db.execute(_select().where(_rows.id == event_id))).first()
        return None if row is None else _event(row)

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[PublishedEvent]:
        free = or_(_rows.claimed_until.is_(None), _rows.claimed_until <= now)
        query = _select().where(_rows.handled_at.is_(None), free)
        query = query.order_by(_rows.received_at).limit(limit)
        rows = await hold(self._db, published_events, query, _rows.claimed_until, until)
        return [_event(row) for row in rows]

    async def handled(self, event_id: str, at: datetime) -> None:
        await self._db.execute(
            update(published_events).where(_rows.id == event_id).values(handled_at=at)
        )

    async def prune(self, handled_before: datetime, limit: int) -> int:
        old = _rows.handled_at < handled_before
        return await delete_batch(self._db, published_events, _rows.id, old, limit)


def _select() -> Any:
    return select(_rows.id, _rows.name, _rows.payload, _rows.received_at, _rows.handled_at)


def _event(row: Any) -> PublishedEvent:
    return PublishedEvent(
        id=row.id,
        name=row.name,
        payload=row.payload,
        received_at=row.received_at,
        handled_at=row.handled_at,
    )
