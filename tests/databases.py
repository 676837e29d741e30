"""Databases for tests: a fresh SQLite file per test, a fresh PostgreSQL schema per session."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database

# Children before parents, so that deleting in this order never trips a foreign key.
TABLES = (
    "run_events",
    "runs",
    "webhook_routes",
    "event_triggers",
    "schedules",
    "workflow_versions",
    "workflows",
    "api_keys",
    "secrets",
    "webhook_deliveries",
    "published_events",
    "notices",
)


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'wfa.db'}"


def with_search_path(url: str, schema: str) -> str:
    """The same database, seen through one schema (psycopg's ``options`` parameter)."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@asynccontextmanager
async def postgres_schema(base_url: str) -> AsyncIterator[str]:
    """Create a schema of our own, migrate it to head, yield its URL, and drop it after."""
    schema = f"wfa_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = Database(base_url)
    try:
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(base_url, schema)
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


async def empty_tables(database: Database) -> None:
    async with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        else:
            for table in TABLES:
                await connection.execute(text(f"DELETE FROM {table}"))
