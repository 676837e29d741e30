"""The database handle: an async engine set up for its dialect, and units of work over it."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from wfa.adapters.persistence.sqlalchemy.pool_health import IDLE_BEFORE_PING, ping_when_idle
from wfa.adapters.persistence.sqlalchemy.sqlite_file import make_private
from wfa.adapters.persistence.sqlalchemy.unit_of_work import SqlUnitOfWork

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _to_json(value: Any) -> str:
    # msgspec encodes Structs, datetimes and plain data in one pass, fast.
    return msgspec.json.encode(value).decode()


class Database:
    """Owns the engine; ``unit_of_work()`` opens one transaction on it."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        idle_before_ping: float = IDLE_BEFORE_PING,
    ) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        options: dict[str, Any] = {"echo": echo}
        if self.dialect == "postgresql":
            # Connections past pool_size are closed on return: a pool smaller than the work
            # in flight opens and closes a connection per transaction (half the throughput).
            options |= {"pool_size": pool_size, "max_overflow": 10}
        self.engine: AsyncEngine = create_async_engine(
            parsed,
            json_serializer=_to_json,
            json_deserializer=msgspec.json.decode,
            **options,
        )
        if self.dialect == "postgresql":
            ping_when_idle(self.engine, idle_before_ping)
        # SQLite takes one writer at a time: this process's transactions queue for it here.
        self._turn = asyncio.Lock() if self.dialect == "sqlite" else None
        if self.dialect == "sqlite":
            make_private(url)  # before SQLite first opens (and so creates) the file
            _configure_sqlite(self.engine)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.dialect, self._turn)

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL for readers beside a writer, a busy timeout, and BEGIN IMMEDIATE for every write.

    A deferred transaction that turns into a write gets SQLITE_BUSY at once, ignoring the
    timeout; taking the write lock up front makes concurrent writers wait their turn.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
