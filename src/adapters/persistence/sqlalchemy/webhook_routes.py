"""Webhook routes in SQL: ``webhook_routes`` follows each workflow's latest version.

The primary key on ``path`` decides who owns a path. Of two transactions claiming one path,
PostgreSQL makes the second wait for the first to commit and then refuses its insert;
SQLite lets one writer in at a time. Either way the loser gets WebhookPathTaken.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.tables import webhook_routes
from wfa.application.errors import WebhookPathTaken


class SqlWebhookRoutes:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def claim(self, workflow_id: str, paths: frozenset[str]) -> None:
        """Make ``paths`` the workflow's routes, freeing the ones it no longer lists."""
        routes = webhook_routes.c
        query = select(routes.path, routes.workflow_id).where(
            or_(routes.workflow_id == workflow_id, routes.path.in_(paths))
        )
        owners = {row.path: row.workflow_id for row in await self._db.execute(query)}
        for path in sorted(paths):
            owner = owners.get(path, workflow_id)
            if owner != workflow_id:
                raise WebhookPathTaken(path, owner)
        dropped = [path for path, owner in owners.items() if path not in paths]
        if dropped:
            await self._db.execute(
                delete(webhook_routes).where(
                    routes.workflow_id == workflow_id, routes.path.in_(dropped)
                )
            )
        for path in sorted(paths - owners.keys()):
            await self._insert(workflow_id, path)

    async def free(self, workflow_id: str) -> None:
        await self._db.execute(
            delete(webhook_routes).where(webhook_routes.c.workflow_id == workflow_id)
        )

    async def _insert(self, workflow_id: str, path: str) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(
                    insert(webhook_routes).values(path=path, workflow_id=workflow_id)
                )
        except IntegrityError:
            # Someone claimed the path since we looked; name them if they are still there.
            owner = await self._owner(path)
            if owner is None or owner == workflow_id:
                raise
            raise WebhookPathTaken(path, owner) from None

    async def _owner(self, path: str) -> str | None:
        query = select(webhook_routes.c.workflow_id).where(webhook_routes.c.path == path)
        owner: str | None = (await self._db.execute(query)).scalar_one_or_none()
        return owner
