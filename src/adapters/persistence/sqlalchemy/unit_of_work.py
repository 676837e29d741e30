"""One transaction on one connection, holding the SQL repositories."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wfa.adapters.persistence.sqlalchemy.api_keys import SqlApiKeys
from wfa.adapters.persistence.sqlalchemy.repositories import SqlRuns
from wfa.adapters.persistence.sqlalchemy.schedules import SqlSchedules
from wfa.adapters.persistence.sqlalchemy.secrets import SqlSecrets
from wfa.adapters.persistence.sqlalchemy.workflows import SqlWorkflows


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, dialect: str) -> None:
        self._engine = engine
        self._dialect = dialect
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        # The connection begins its transaction with its first statement (autobegin). On
        # PostgreSQL it is begun now, so that statements sent to the driver directly (the
        # run repository's step path) are committed with it; SQLite's begin is BEGIN
        # IMMEDIATE, which a read-only unit of work must not take.
        self._connection = await self._engine.connect()
        if self._dialect == "postgresql":
            await self._connection.begin()
        self._workflows = SqlWorkflows(self._connection, self._dialect)
        self._runs = SqlRuns(self._connection, self._dialect)
        self._api_keys = SqlApiKeys(self._connection)
        self._schedules = SqlSchedules(self._connection, self._dialect)
        self._secrets = SqlSecrets(self._connection, self._dialect)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()

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

    async def commit(self) -> None:
        assert self._connection is not None, "commit inside 'async with'"
        await self._connection.commit()
