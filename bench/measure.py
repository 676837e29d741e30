"""What the benchmarks read back: run timings and events from the store, commits, percentiles.

Timings come from what the engine recorded (a run's ``finished_at``, its events' ``at``), so
the load generator's own delays do not count against the engine, and both stores are read
the same way through the engine's own tables.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from sqlalchemy import Engine, create_engine, func, select

from wfa.adapters.persistence.sqlalchemy.tables import run_events, runs

CHUNK = 1000


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile ``p`` (0-100) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


class Store:
    """The database a stack writes to, read synchronously (from a thread) after the load."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        sync_url = url.replace("sqlite+aiosqlite", "sqlite")
        self._engine: Engine = create_engine(sync_url)

    def dispose(self) -> None:
        self._engine.dispose()

    def ended(self, run_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime | None, str]]:
        """Each run's created_at, finished_at (None while it runs) and status."""
        found: dict[str, tuple[datetime, datetime | None, str]] = {}
        with self._engine.connect() as connection:
            for chunk in _chunks(run_ids):
                rows = connection.execute(
                    select(runs.c.id, runs.c.created_at, runs.c.finished_at, runs.c.status).where(
                        runs.c.id.in_(chunk)
                    )
                )
                found.update({row[0]: (row[1], row[2], row[3]) for row in rows})
        return found

    def children(self, run_id: str) -> list[str]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(runs.c.id).where(runs.c.parent_run_id == run_id))
            return [row[0] for row in rows]

    def unfinished(self, run_ids: Sequence[str]) -> int:
        with self._engine.connect() as connection:
            return sum(
                connection.execute(
                    select(func.count())
                    .select_from(runs)
                    .where(runs.c.id.in_(chunk), runs.c.finished_at.is_(None))
                ).scalar_one()
                for chunk in _chunks(run_ids)
            )

    def events(self, run_ids: Sequence[str], types: Iterable[str]) -> list[tuple[Any, ...]]:
        """(run_id, seq, type, at, data) of the runs' events of ``types``, in order."""
        wanted = list(types)
        found: list[tuple[Any, ...]] = []
        with self._engine.connect() as connection:
            for chunk in _chunks(run_ids):
                rows = connection.execute(
                    select(
                        run_events.c.run_id,
                        run_events.c.seq,
                        run_events.c.type,
                        run_events.c.at,
                        run_events.c.data,
                    )
                    .where(run_events.c.run_id.in_(chunk), run_events.c.type.in_(wanted))
                    .order_by(run_events.c.run_id, run_events.c.seq)
                )
                found.extend(tuple(row) for row in rows)
        return found

    def write_transactions(self) -> int | None:
        """Transaction ids handed out so far: one per transaction that wrote (PostgreSQL)."""
        if not self.postgres:
            return None
        with psycopg.connect(_libpq(self.url), autocommit=True) as connection:
            row = connection.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
        assert row is not None
        return int(row[0])


async def until_finished(store: Store, run_ids: Sequence[str], within: float) -> int:
    """Wait for the runs to finish, up to ``within`` seconds; the count still unfinished."""
    deadline = time.monotonic() + within
    left = len(run_ids)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        left = await asyncio.to_thread(store.unfinished, run_ids)
    return left


async def pg_write_tps(url: str, seconds: float, connections: int = 8) -> float:
    """Single-row INSERTs committed per second, ``connections`` at a time: what the database
    itself commits on this machine, in the same invocation as the scenarios."""
    conninfo = _libpq(url)
    table = "wfa_bench_baseline"
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as setup:
        await setup.execute(f"DROP TABLE IF EXISTS {table}")
        await setup.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, v text)")
    done = 0
    stop_at = time.monotonic() + seconds

    async def writer() -> None:
        nonlocal done
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            while time.monotonic() < stop_at:
                await conn.execute(f"INSERT INTO {table} (v) VALUES (%s)", ("x",), prepare=True)
                done += 1

    began = time.monotonic()
    await asyncio.gather(*(writer() for _ in range(connections)))
    elapsed = time.monotonic() - began
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as setup:
        await setup.execute(f"DROP TABLE {table}")
    return done / elapsed


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def decoded(data: Any) -> dict[str, Any]:
    """An event's data as stored: a dict on PostgreSQL (JSONB), JSON text elsewhere."""
    if isinstance(data, (str, bytes)):
        result: dict[str, Any] = msgspec.json.decode(data)
        return result
    return dict(data)
