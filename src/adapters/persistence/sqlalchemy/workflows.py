"""The workflow repository in SQL: versions, the latest of each, and their webhook routes.

Definitions go in as msgspec Structs (the engine's JSON serializer is msgspec) and come back
through ``msgspec.convert``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Select, Text, and_, cast, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.tables import (
    event_triggers,
    webhook_routes,
    workflow_versions,
    workflows,
)
from wfa.adapters.persistence.sqlalchemy.webhook_routes import SqlWebhookRoutes
from wfa.domain.definition import Definition, WebhookTrigger
from wfa.domain.workflow import Workflow


class SqlWorkflows:
    """Workflows through SQLAlchemy Core; ``PostgresWorkflows`` and ``SqliteWorkflows``
    replace the reads every start sends."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection
        self._routes = SqlWebhookRoutes(connection)

    async def add(self, workflow: Workflow) -> None:
        head = {"name": workflow.name, "latest_version": workflow.version, "deleted_at": None}
        if workflow.version == 1:
            await self._db.execute(
                insert(workflows).values(id=workflow.id, created_at=workflow.created_at, **head)
            )
        else:
            await self._db.execute(
                update(workflows).where(workflows.c.id == workflow.id).values(**head)
            )
        await self._db.execute(
            insert(workflow_versions).values(
                workflow_id=workflow.id,
                version=workflow.version,
                definition=workflow.definition,
                created_at=workflow.created_at,
            )
        )
        await self._routes.claim(workflow.id, workflow.webhook_paths)
        await self._event_triggers(workflow.id, workflow.event_names)

    async def _event_triggers(self, workflow_id: str, names: frozenset[str]) -> None:
        """Make ``names`` the events that start the workflow (its latest version's)."""
        await self._db.execute(
            delete(event_triggers).where(event_triggers.c.workflow_id == workflow_id)
        )
        for name in sorted(names):
            await self._db.execute(
                insert(event_triggers).values(event_name=name, workflow_id=workflow_id)
            )

    async def get(self, workflow_id: str, version: int | None = None) -> Workflow | None:
        query = select(
            workflow_versions.c.version,
            workflow_versions.c.definition,
            workflow_versions.c.created_at,
        ).where(workflow_versions.c.workflow_id == workflow_id)
        if version is None:
            query = query.join(
                workflows,
                and_(
                    workflows.c.id == workflow_versions.c.workflow_id,
                    workflows.c.latest_version == workflow_versions.c.version,
                    workflows.c.deleted_at.is_(None),
                ),
            )
        else:
            query = query.where(workflow_versions.c.version == version)
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        return _workflow(workflow_id, row.version, row.definition, row.created_at)

    async def latest(self, limit: int, after: str | None = None) -> list[Workflow]:
        query = _latest_versions().order_by(workflows.c.id).limit(limit)
        if after is not None:
            query = query.where(workflows.c.id > after)
        rows = (await self._db.execute(query)).all()
        return [_workflow(r.id, r.version, r.definition, r.created_at) for r in rows]

    async def delete(self, workflow_id: str) -> bool:
        result = await self._db.execute(
            update(workflows)
            .where(workflows.c.id == workflow_id, workflows.c.deleted_at.is_(None))
            .values(deleted_at=func.current_timestamp())
        )
        if not result.rowcount:
            return False
        await self._routes.free(workflow_id)
        await self._event_triggers(workflow_id, frozenset())
        return True

    async def by_webhook(self, path: str) -> Workflow | None:
        query = _latest_versions().join(
            webhook_routes,
            and_(webhook_routes.c.workflow_id == workflows.c.id, webhook_routes.c.path == path),
        )
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        return _workflow(row.id, row.version, row.definition, row.created_at)

    async def by_event(self, name: str) -> list[Workflow]:
        query = _latest_versions().join(
            event_triggers,
            and_(
                event_triggers.c.workflow_id == workflows.c.id, event_triggers.c.event_name == name
            ),
        )
        rows = (await self._db.execute(query.order_by(workflows.c.id))).all()
        return [_workflow(r.id, r.version, r.definition, r.created_at) for r in rows]

    async def by_name(self, name: str, limit: int) -> list[Workflow]:
        query = _latest_versions().where(workflows.c.name == name).order_by(workflows.c.id)
        rows = (await self._db.execute(query.limit(limit))).all()
        return [_workflow(r.id, r.version, r.definition, r.created_at) for r in rows]

    async def with_webhook_secrets(self) -> list[Workflow]:
        versions = workflow_versions.c
        # The text match only narrows the rows read; the triggers decide.
        query = (
            select(versions.workflow_id, versions.version, versions.definition, versions.created_at)
            .where(cast(versions.definition, Text).like('%"secret"%'))
            .order_by(versions.workflow_id, versions.version)
        )
        rows = (await self._db.execute(query)).all()
        stored = [_workflow(r.workflow_id, r.version, r.definition, r.created_at) for r in rows]
        return [workflow for workflow in stored if _has_webhook_secret(workflow)]

    async def replace_definition(self, workflow: Workflow) -> None:
        versions = workflow_versions.c
        await self._db.execute(
            update(workflow_versions)
            .where(versions.workflow_id == workflow.id, versions.version == workflow.version)
            .values(definition=workflow.definition)
        )


def _has_webhook_secret(workflow: Workflow) -> bool:
    triggers = workflow.definition.triggers
    return any(isinstance(t, WebhookTrigger) and t.secret is not None for t in triggers)


def _latest_versions() -> Select[tuple[str, int, Any, datetime]]:
    """The latest version of every workflow not deleted."""
    return (
        select(
            workflows.c.id,
            workflow_versions.c.version,
            workflow_versions.c.definition,
            workflow_versions.c.created_at,
        )
        .join(
            workflow_versions,
            and_(
                workflow_versions.c.workflow_id == workflows.c.id,
                workflow_versions.c.version == workflows.c.latest_version,
            ),
        )
        .where(workflows.c.deleted_at.is_(None))
    )


def _workflow(workflow_id: str, version: int, definition: Any, created_at: datetime) -> Workflow:
    return Workflow(
        id=workflow_id,
        version=version,
        definition=msgspec.convert(definition, Definition),
        created_at=created_at,
    )
