"""The run and workflow repositories on PostgreSQL: the SQL ones, with the statements every
start and step sends going to psycopg as prepared statements (``postgres_hot_path``).

They run on the unit of work's own connection and transaction, so everything else these
repositories do (listing, paging, pruning) stays SQLAlchemy's and commits with them. What
they write reads back identically through the SQLAlchemy statements, and the other way
round (tests/integration/test_hot_paths.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wfa.adapters.persistence.sqlalchemy.postgres_hot_path import (
    create_run,
    create_runs,
    driver_of,
    move_run,
    read_latest_workflow,
    read_run,
    read_webhook_workflow,
)
from wfa.adapters.persistence.sqlalchemy.repositories import SqlRuns, conflicts, due_runs
from wfa.adapters.persistence.sqlalchemy.workflows import SqlWorkflows
from wfa.application.errors import ConcurrencyConflict, DuplicateRun
from wfa.domain.events import Event
from wfa.domain.run import Run
from wfa.domain.workflow import Workflow

BULK_ROWS = 500  # new runs a statement, so that no statement grows without bound


class PostgresRuns(SqlRuns):
    _driver: Any = None  # psycopg's connection under the unit of work's, once asked for

    async def _psycopg(self) -> Any:
        if self._driver is None:
            self._driver = await driver_of(self._db)
        return self._driver

    async def _add(self, run: Run, events: Sequence[Event]) -> None:
        if not await create_run(await self._psycopg(), run, events):
            if run.idempotency_key is not None:
                raise DuplicateRun(run.workflow_id, run.idempotency_key)
            raise ConcurrencyConflict(run.id, 0)

    async def _add_many(self, created: Sequence[tuple[Run, Sequence[Event]]]) -> None:
        driver = await self._psycopg()
        for start in range(0, len(created), BULK_ROWS):
            if not await create_runs(driver, created[start : start + BULK_ROWS]):
                raise ConcurrencyConflict(created[start][0].id, 0)

    async def get(self, run_id: str, *, for_update: bool = False) -> Run | None:
        with conflicts(run_id):
            return await read_run(await self._psycopg(), run_id, for_update)

    async def _save(self, run: Run, events: Sequence[Event], expected_seq: int) -> None:
        if not await move_run(await self._psycopg(), run, events, expected_seq):
            raise ConcurrencyConflict(run.id, expected_seq)

    async def due(self, now: datetime, limit: int) -> list[str]:
        # Due runs locked by another scheduler's batch are skipped, not waited for.
        query = due_runs(now, limit).with_for_update(skip_locked=True)
        return list((await self._db.execute(query)).scalars())


class PostgresWorkflows(SqlWorkflows):
    async def get(self, workflow_id: str, version: int | None = None) -> Workflow | None:
        if version is None:
            return await read_latest_workflow(await driver_of(self._db), workflow_id)
        return await super().get(workflow_id, version)

    async def by_webhook(self, path: str) -> Workflow | None:
        return await read_webhook_workflow(await driver_of(self._db), path)
