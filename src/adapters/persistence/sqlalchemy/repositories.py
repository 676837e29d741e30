"""The run repository in SQL (Core statements, no ORM objects); workflows are in ``workflows``.

Domain values go in and out as msgspec Structs; the engine's JSON serializer is msgspec, so
a run's state and its events are encoded in one pass on the way in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
import psycopg.errors
from sqlalchemy import Select, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.run_columns import family_columns, signal_key
from wfa.adapters.persistence.sqlalchemy.tables import run_events, runs
from wfa.application.errors import (
    ConcurrencyConflict,
    DuplicateRun,
    StoreRefused,
    TransactionAborted,
)
from wfa.application.paging import decode_cursor, encode_cursor
from wfa.application.ports.repositories import RunFilter, RunPage
from wfa.domain.events import Event, RunEvent, SignalReceived, event_type
from wfa.domain.run import Run


class SqlRuns:
    """Runs through SQLAlchemy Core, on any database it speaks.

    ``PostgresRuns`` and ``SqliteRuns`` replace the statements every start and step sends;
    the rest is this on both.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, run: Run, events: Sequence[Event]) -> None:
        with _refused_data():
            await self._add(run, events)

    async def _add(self, run: Run, events: Sequence[Event]) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(runs).values(id=run.id, **_new_columns(run)))
        except IntegrityError as error:
            if run.idempotency_key is not None and "idempotency_key" in str(error.orig):
                raise DuplicateRun(run.workflow_id, run.idempotency_key) from None
            raise ConcurrencyConflict(run.id, 0) from None  # its id is taken, as on PostgreSQL
        await self._append(run.id, events)

    async def add_many(self, created: Sequence[tuple[Run, Sequence[Event]]]) -> None:
        with _refused_data(), conflicts(created[0][0].id if created else "-"):
            await self._add_many(created)

    async def _add_many(self, created: Sequence[tuple[Run, Sequence[Event]]]) -> None:
        for run, events in created:
            await self._add(run, events)

    async def get(self, run_id: str, *, for_update: bool = False) -> Run | None:
        # SQLite has one writer at a time: there is nothing to lock a row against.
        row = (await self._db.execute(select(runs.c.state).where(runs.c.id == run_id))).first()
        return None if row is None else msgspec.convert(row.state, Run)

    async def children(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        after_index: int = -1,
        limit: int | None = None,
    ) -> list[Run]:
        query = (
            select(runs.c.state)
            .where(
                runs.c.parent_run_id == run_id,
                runs.c.parent_step == step_id,
                runs.c.parent_attempt == attempt,
                runs.c.child_index > after_index,
            )
            .order_by(runs.c.child_index)
            .limit(limit)
        )
        rows = (await self._db.execute(query)).all()
        return [msgspec.convert(row.state, Run) for row in rows]

    async def save(self, run: Run, events: Sequence[Event], expected_seq: int) -> None:
        with _refused_data(), conflicts(run.id):
            await self._save(run, events, expected_seq)

    async def _save(self, run: Run, events: Sequence[Event], expected_seq: int) -> None:
        result = await self._db.execute(
            update(runs)
            .where(runs.c.id == run.id, runs.c.seq == expected_seq)
            .values(**_columns(run))
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(run.id, expected_seq)
        await self._append(run.id, events)

    async def _append(self, run_id: str, events: Sequence[Event]) -> None:
        if events:
            await self._db.execute(insert(run_events), [_event_row(run_id, e) for e in events])

    async def by_idempotency_key(self, workflow_id: str, key: str) -> Run | None:
        query = select(runs.c.state).where(
            runs.c.workflow_id == workflow_id, runs.c.idempotency_key == key
        )
        row = (await self._db.execute(query)).first()
        return None if row is None else msgspec.convert(row.state, Run)

    async def awaiting(self, event_name: str, after_id: str | None, limit: int) -> list[Run]:
        query = (
            select(runs.c.state)
            .where(runs.c.awaiting_event == event_name)
            .order_by(runs.c.id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(runs.c.id > after_id)
        rows = (await self._db.execute(query)).all()
        return [msgspec.convert(row.state, Run) for row in rows]

    async def signal_by_key(self, run_id: str, key: str) -> SignalReceived | None:
        found = await self._db.scalar(
            select(run_events.c.data).where(
                run_events.c.run_id == run_id, run_events.c.signal_key == key
            )
        )
        return None if found is None else msgspec.convert(found, SignalReceived)

    async def history(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        # The primary key (run_id, seq) serves this as one index range scan, page or not.
        query = (
            select(run_events.c.data)
            .where(run_events.c.run_id == run_id, run_events.c.seq > after_seq)
            .order_by(run_events.c.seq)
            .limit(limit)
        )
        rows = (await self._db.execute(query)).all()
        return [msgspec.convert(row.data, RunEvent) for row in rows]

    async def page(self, where: RunFilter, limit: int, cursor: str | None = None) -> RunPage:
        query = select(runs.c.state).order_by(runs.c.created_at.desc(), runs.c.id.desc())
        query = query.where(runs.c.scope.is_(None))
        if where.workflow_id is not None:
            query = query.where(runs.c.workflow_id == where.workflow_id)
        if where.status is not None:
            query = query.where(runs.c.status == str(where.status))
        if where.created_after is not None:
            query = query.where(runs.c.created_at >= where.created_after)
        if where.created_before is not None:
            query = query.where(runs.c.created_at < where.created_before)
        if cursor is not None:
            created, run_id = decode_cursor(cursor)
            position = (datetime.fromisoformat(created), run_id)
            query = query.where(tuple_(runs.c.created_at, runs.c.id) < position)
        rows = (await self._db.execute(query.limit(limit + 1))).all()
        found = [msgspec.convert(row.state, Run) for row in rows[:limit]]
        more = len(rows) > limit
        last = found[-1] if found else None
        next_cursor = (
            encode_cursor((last.created_at.isoformat(), last.id)) if more and last else None
        )
        return RunPage(runs=found, next_cursor=next_cursor)

    async def due(self, now: datetime, limit: int) -> list[str]:
        return list((await self._db.execute(due_runs(now, limit))).scalars())

    async def next_wake(self, after: datetime) -> datetime | None:
        query = select(func.min(runs.c.wake_at)).where(runs.c.wake_at > after)
        found: datetime | None = (await self._db.execute(query)).scalar_one()
        return found

    async def prune(self, finished_before: datetime | None, keep: int | None, limit: int) -> int:
        """Delete up to ``limit`` finished runs (with their history) that retention lets go.

        Only runs nobody started are weighed; each goes with every run under it (its
        branches, iterations and sub-workflows), which a join may still have to read.
        """
        query = select(runs.c.id).where(
            runs.c.finished_at.is_not(None), runs.c.parent_run_id.is_(None)
        )
        query = query.order_by(runs.c.finished_at.desc(), runs.c.id.desc())
        if keep is not None:
            query = query.offset(keep)
        if finished_before is not None:
            query = query.where(runs.c.finished_at < finished_before)
        ids = list((await self._db.execute(query.limit(limit))).scalars())
        roots = len(ids)
        level = ids
        while level:
            below = select(runs.c.id).where(runs.c.parent_run_id.in_(level))
            level = list((await self._db.execute(below)).scalars())
            ids.extend(level)
        for start in range(0, len(ids), 1000):  # bounded statements, whatever the family
            chunk = ids[start : start + 1000]
            await self._db.execute(delete(run_events).where(run_events.c.run_id.in_(chunk)))
            await self._db.execute(delete(runs).where(runs.c.id.in_(chunk)))
        return roots


def due_runs(now: datetime, limit: int) -> Select[Any]:
    return (
        select(runs.c.id)
        .where(runs.c.wake_at <= now)
        .order_by(runs.c.wake_at, runs.c.id)
        .limit(limit)
    )


def _columns(run: Run) -> dict[str, Any]:
    return {
        "workflow_id": run.workflow_id,
        "workflow_version": run.workflow_version,
        "status": str(run.status),
        "seq": run.seq,
        "wake_at": run.wake_at,
        "idempotency_key": run.idempotency_key,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "finished_at": run.updated_at if run.status.is_terminal else None,
        "awaiting_event": run.awaiting_event,
        "state": run,
    }


def _new_columns(run: Run) -> dict[str, Any]:
    return _columns(run) | family_columns(run)


def _event_row(run_id: str, event: Event) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "seq": event.seq,
        "type": event_type(event),
        "at": event.at,
        "step_id": getattr(event, "step_id", None),
        "attempt": getattr(event, "attempt", None),
        "data": event,
        "signal_key": signal_key(event),
    }


@contextlib.contextmanager
def conflicts(run_id: str) -> Iterator[None]:
    """A deadlock the database broke (two transactions taking a parent and a child in
    opposite orders) as TransactionAborted: the loser's transaction is decided again."""
    try:
        yield
    except (DBAPIError, psycopg.errors.DeadlockDetected) as error:
        orig = getattr(error, "orig", None) or error
        if isinstance(orig, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
            raise TransactionAborted(run_id, -1) from error
        raise


@contextlib.contextmanager
def _refused_data() -> Iterator[None]:
    """The database refusing a value (NUL in JSONB text, a number out of range) as the named
    StoreRefused: the same write would fail again, so it must not be retried as a lost job."""
    try:
        yield
    except (DataError, psycopg.DataError) as error:
        orig = getattr(error, "orig", None) or error
        raise StoreRefused(str(orig)) from error
