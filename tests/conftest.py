"""Shared test configuration: hypothesis profiles, real services, and the persistence adapters.

PostgreSQL comes from WFA_TEST_DATABASE_URL: one fresh schema per test session, emptied
between tests. Without the variable its cases skip (or fail under WFA_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.databases import empty_tables, postgres_schema, sqlite_url
from wfa.adapters.persistence.memory import MemoryStore
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.application.ports.repositories import UnitOfWorkFactory

PERSISTENCE_ADAPTERS = ["memory", "sqlite", "postgres"]

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def service_url(variable: str) -> str:
    """The URL of a service a test needs; skip without it, unless services are required."""
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("WFA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{variable} is not set, and WFA_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{variable} is not set")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated schema of our own in the test PostgreSQL, for the whole session."""
    base = service_url("WFA_TEST_DATABASE_URL")
    runner = asyncio.Runner()
    context = postgres_schema(base)
    url = runner.run(context.__aenter__())
    try:
        yield url
    finally:
        runner.run(context.__aexit__(None, None, None))
        runner.close()


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    url = sqlite_url(tmp_path)
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(url)
    yield database
    await database.dispose()


@pytest.fixture
async def postgres_database(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url)
    await empty_tables(database)
    yield database
    await database.dispose()


@pytest.fixture(params=PERSISTENCE_ADAPTERS)
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """Each persistence adapter in turn: memory, SQLite, PostgreSQL."""
    if request.param == "memory":
        return MemoryStore().unit_of_work
    database: Database = request.getfixturevalue(f"{request.param}_database")
    return database.unit_of_work
