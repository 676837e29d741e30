"""A pooled PostgreSQL connection the server dropped while it sat idle is replaced before use."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from wfa.adapters.persistence.sqlalchemy.database import Database


async def backend(database: Database) -> int:
    async with database.engine.connect() as connection:
        pid: int = (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        return pid


async def drop(url: str, pid: int) -> None:
    other = Database(url)
    async with other.engine.connect() as connection:
        await connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    await other.dispose()


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(postgres_url):
    database = Database(postgres_url, idle_before_ping=0.0)
    first = await backend(database)
    await drop(postgres_url, first)
    assert await backend(database) != first  # no error: checked, dropped, replaced
    await database.dispose()


async def test_a_connection_back_from_work_a_moment_ago_is_not_checked(postgres_url):
    database = Database(postgres_url, idle_before_ping=3600.0)
    first = await backend(database)
    await drop(postgres_url, first)
    with pytest.raises(DBAPIError):  # what the check spares under load: one failed use
        await backend(database)
    assert await backend(database) != first  # after which the pool is renewed
    await database.dispose()
