"""The run and workflow repositories on SQLite: the SQL ones, with the statements every start
and step sends written out and handed to the driver (aiosqlite) directly.

SQLAlchemy builds, caches and compiles each Core statement anew on every call: on the
embedded default, where one process serves, runs steps and writes, that was over a third
of the CPU of a webhook-to-done run (5.6 ms a run before these statements, 3.5 after).
They run on the unit of work's own connection, inside its transaction (``BEGIN
IMMEDIATE``), and write values exactly as the SQLAlchemy types do (JSON text from msgspec,
UTC times as ``YYYY-MM-DD HH:MM:SS.ffffff``): what either path writes reads back
identically through the other
(tests/integration/test_hot_paths.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.repositories import SqlRuns
from wfa.adapters.persistence.sqlalchemy.run_columns import family_columns, signal_key
from wfa.adapters.persistence.sqlalchemy.workflows import SqlWorkflows
from wfa.application.errors import ConcurrencyConflict, DuplicateRun
from wfa.domain.definition import Definition
from wfa.domain.events import Event, event_type
from wfa.domain.run import Run
from wfa.domain.workflow import Workflow

_READ = "SELECT state FROM runs WHERE id = ?"
_COLUMNS = (
    "workflow_id, workflow_version, status, seq, wake_at, idempotency_key, created_at, "
    "updated_at, finished_at, awaiting_event, state"
)
_FAMILY = "parent_run_id, parent_step, parent_attempt, child_index, scope"
_INSERT = f"INSERT INTO runs (id, {_COLUMNS}, {_FAMILY}) VALUES ({', '.join('?' * 17)})"
_UPDATE = (
    "UPDATE runs SET "
    + ", ".join(f"{column.strip()} = ?" for column in _COLUMNS.split(","))
    + " WHERE id = ? AND seq = ?"
)
_APPEND = (
    "INSERT INTO run_events (run_id, seq, type, at, step_id, attempt, data, signal_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_LATEST = """
SELECT w.id, v.version, v.definition, v.created_at
FROM workflows w
JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
WHERE w.deleted_at IS NULL AND {where}
"""
_LATEST_BY_ID = _LATEST.format(where="w.id = ?")
_BY_WEBHOOK = _LATEST.format(where="w.id = (SELECT workflow_id FROM webhook_routes WHERE path = ?)")

_encoder = msgspec.json.Encoder()


def _time(value: datetime | None) -> str | None:
    """A time as SQLAlchemy's SQLite DATETIME stores an aware one (UtcDateTime): UTC, no zone."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _columns(run: Run) -> tuple[Any, ...]:
    return (
        run.workflow_id,
        run.workflow_version,
        str(run.status),
        run.seq,
        _time(run.wake_at),
        run.idempotency_key,
        _time(run.created_at),
        _time(run.updated_at),
        _time(run.updated_at) if run.status.is_terminal else None,
        run.awaiting_event,
        _encoder.encode(run).decode(),
    )


def _event_rows(run_id: str, events: Sequence[Event]) -> list[tuple[Any, ...]]:
    return [
        (
            run_id,
            event.seq,
            event_type(event),
            _time(event.at),
            getattr(event, "step_id", None),
            getattr(event, "attempt", None),
            _encoder.encode(event).decode(),
            signal_key(event),
        )
        for event in events
    ]


async def _driver(connection: AsyncConnection) -> Any:
    """aiosqlite's connection under ``connection``, in its transaction: begun here when no
    statement has begun it yet (BEGIN IMMEDIATE, the write lock), as the first one would."""
    if not connection.in_transaction():
        await connection.begin()
    return (await connection.get_raw_connection()).driver_connection


class SqliteRuns(SqlRuns):
    _known_driver: Any = None  # aiosqlite's connection, once this transaction is begun

    async def _driver(self) -> Any:
        if self._known_driver is None or not self._db.in_transaction():
            self._known_driver = await _driver(self._db)
        return self._known_driver

    async def _add(self, run: Run, events: Sequence[Event]) -> None:
        driver = await self._driver()
        try:
            # A refused row is undone alone: SQLite keeps the transaction.
            row = (run.id, *_columns(run), *family_columns(run).values())
            async with driver.execute(_INSERT, row):
                pass
        except sqlite3.IntegrityError as error:
            if run.idempotency_key is not None and "idempotency_key" in str(error):
                raise DuplicateRun(run.workflow_id, run.idempotency_key) from None
            raise ConcurrencyConflict(run.id, 0) from None  # its id is taken
        await self._append_rows(driver, run.id, events)

    async def get(self, run_id: str, *, for_update: bool = False) -> Run | None:
        driver = await self._driver()
        async with driver.execute(_READ, (run_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else msgspec.json.decode(row[0], type=Run)

    async def _save(self, run: Run, events: Sequence[Event], expected_seq: int) -> None:
        driver = await self._driver()
        async with driver.execute(_UPDATE, (*_columns(run), run.id, expected_seq)) as cursor:
            if cursor.rowcount != 1:
                raise ConcurrencyConflict(run.id, expected_seq)
        await self._append_rows(driver, run.id, events)

    async def _append_rows(self, driver: Any, run_id: str, events: Sequence[Event]) -> None:
        if events:
            async with driver.executemany(_APPEND, _event_rows(run_id, events)):
                pass


class SqliteWorkflows(SqlWorkflows):
    async def get(self, workflow_id: str, version: int | None = None) -> Workflow | None:
        if version is not None:
            return await super().get(workflow_id, version)
        return await self._one(_LATEST_BY_ID, workflow_id)

    async def by_webhook(self, path: str) -> Workflow | None:
        return await self._one(_BY_WEBHOOK, path)

    async def _one(self, query: str, value: str) -> Workflow | None:
        driver = await _driver(self._db)
        async with driver.execute(query, (value,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        workflow_id, version, definition, created_at = row
        return Workflow(
            id=workflow_id,
            version=version,
            definition=msgspec.json.decode(definition, type=Definition),
            created_at=datetime.fromisoformat(created_at).replace(tzinfo=UTC),
        )
