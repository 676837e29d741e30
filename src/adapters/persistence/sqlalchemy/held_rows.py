"""Work rows several processes take turns on (published events, notices): a batch is held
for a while, taken with ``SKIP LOCKED`` so no two take one row at once, and rows done with
are deleted a batch at a time, skipping rows another transaction holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


async def hold(
    connection: AsyncConnection,
    table: Table,
    query: Select[Any],
    held_until: Column[Any],
    until: datetime,
) -> Sequence[Any]:
    """The rows ``query`` finds (it names the table's ``id``), held until ``until``."""
    rows: Sequence[Any] = (await connection.execute(query.with_for_update(skip_locked=True))).all()
    if rows:
        ids = [row.id for row in rows]
        await connection.execute(
            update(table).where(table.c.id.in_(ids)).values({held_until.key: until})
        )
    return rows


async def delete_batch(
    connection: AsyncConnection,
    table: Table,
    key: Column[Any],
    done: ColumnElement[bool],
    limit: int,
) -> int:
    """Delete up to ``limit`` rows for which ``done`` holds; how many went."""
    batch = select(key).where(done).limit(limit).with_for_update(skip_locked=True)
    result = await connection.execute(delete(table).where(key.in_(batch)))
    return int(result.rowcount or 0)
