"""One transaction on one connection, holding the SQL repositories."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wfa.adapters.persistence.sqlalchemy.api_keys import SqlApiKeys
from wfa.adapters.persistence.sqlalchemy.notices import SqlNotices
from wfa.adapters.persistence.sqlalchemy.postgres_runs import PostgresRuns, PostgresWorkflows
from wfa.adapters.persistence.sqlalchemy.published_events import SqlPublishedEvents
from wfa.adapters.persistence.sqlalchemy.repositories import SqlRuns
from wfa.adapters.persistence.sqlalchemy.schedules import SqlSchedules
from wfa.adapters.persistence.sqlalchemy.secrets import SqlSecrets
from wfa.adapters.persistence.sqlalchemy.sqlite_runs import SqliteRuns, SqliteWorkflows
from wfa.adapters.persistence.sqlalchemy.webhook_deliveries import SqlWebhookDeliveries
from wfa.adapters.persistence.sqlalchemy.workflows import SqlWorkflows

# Each database's adapter of the statements every start and step sends.
_REPOSITORIES: dict[str, tuple[type[SqlWorkflows], type[SqlRuns]]] = {
    "postgresql": (PostgresWorkflows, PostgresRuns),
    "sqlite": (SqliteWorkflows, SqliteRuns),
}

# As long as SQLite's own busy timeout: past it a transaction would have failed anyway.
TURN_TIMEOUT_SECONDS = 10.0


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, dialect: str, turn: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._dialect = dialect
        self._turn = turn
        self._holding_turn = False
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        if self._turn is not None:
            # SQLite has one writer at a time and every transaction here takes the write
            # lock (BEGIN IMMEDIATE). Queueing for it in the process keeps its transactions
            # out of SQLite's busy handler, which sleeps in steps of up to 100 ms.
            async with asyncio.timeout(TURN_TIMEOUT_SECONDS):
                await self._turn.acquire()
            self._holding_turn = True
        try:
            await self._open()
        except BaseException:
            self._release_turn()
            raise
        return self

    async def _open(self) -> None:
        # The connection begins its transaction with its first statement (autobegin). On
        # PostgreSQL it is begun now, so that statements sent to the driver directly (the
        # hot path) are committed with it; SQLite's hot path begins it before its first one.
        self._connection = await self._engine.connect()
        if self._dialect == "postgresql":
            await self._connection.begin()
        workflows, runs = _REPOSITORIES.get(self._dialect, (SqlWorkflows, SqlRuns))
        self._workflows = workflows(self._connection)
        self._runs = runs(self._connection)
        self._api_keys = SqlApiKeys(self._connection)
        self._schedules = SqlSchedules(self._connection, self._dialect)
        self._secrets = SqlSecrets(self._connection, self._dialect)
        self._webhook_deliveries = SqlWebhookDeliveries(self._connection)
        self._published = SqlPublishedEvents(self._connection)
        self._notices = SqlNotices(self._connection)

    def _release_turn(self) -> None:
        if self._holding_turn and self._turn is not None:
            self._holding_turn = False
            self._turn.release()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        try:
            if connection is None:
                return
            try:
                if connection.in_transaction():
                    await connection.rollback()
            finally:
                await connection.close()
        finally:
            self._release_turn()

    @property
    def workflows(self) -> SqlWorkflows:
        return self._workflows

    @property
    def runs(self) -> SqlRuns:
        return self._runs

    @property
    def api_keys(self) -> SqlApiKeys:
        return self._api_keys

    @property
    def schedules(self) -> SqlSchedules:
        return self._schedules

    @property
    def secrets(self) -> SqlSecrets:
        return self._secrets

    @property
    def webhook_deliveries(self) -> SqlWebhookDeliveries:
        return self._webhook_deliveries

    @property
    def published(self) -> SqlPublishedEvents:
        return self._published

    @property
    def notices(self) -> SqlNotices:
        return self._notices

    async def commit(self) -> None:
        assert self._connection is not None, "commit inside 'async with'"
        await self._connection.commit()
