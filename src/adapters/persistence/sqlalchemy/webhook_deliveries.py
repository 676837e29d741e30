"""Webhook deliveries in SQL: a claim is a row; its primary key settles concurrent claims.

Of two transactions inserting one claim, PostgreSQL makes the second wait for the first to
commit and then refuses it (the first rolled back: the second goes in); SQLite lets one
writer in at a time. A claim past its time is taken over by a conditional update, so two
takers cannot both succeed either. Expired rows are deleted a batch at a time along the way,
skipping rows another transaction holds, so pruning never makes a request wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.held_rows import delete_batch
from wfa.adapters.persistence.sqlalchemy.tables import webhook_deliveries

PRUNE_BATCH = 100


class SqlWebhookDeliveries:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def claim(self, claims: Sequence[str], remember_until: datetime, now: datetime) -> bool:
        await self._prune(now)
        for claim in claims:
            if not await self._claim_one(claim, remember_until, now):
                return False
        return True

    async def _claim_one(self, claim: str, remember_until: datetime, now: datetime) -> bool:
        rows = webhook_deliveries.c
        try:
            async with self._db.begin_nested():
                await self._db.execute(
                    insert(webhook_deliveries).values(claim=claim, remember_until=remember_until)
                )
            return True
        except IntegrityError:
            taken = await self._db.execute(
                update(webhook_deliveries)
                .where(rows.claim == claim, rows.remember_until <= now)
                .values(remember_until=remember_until)
            )
            return bool(taken.rowcount)

    async def _prune(self, now: datetime) -> None:
        rows = webhook_deliveries.c
        expired = rows.remember_until <= now
        await delete_batch(self._db, webhook_deliveries, rows.claim, expired, PRUNE_BATCH)
