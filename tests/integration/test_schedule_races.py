"""Several schedulers on one PostgreSQL database weigh each fire once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.clock import FakeClock, SystemEntropy
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.persistence.sqlalchemy.tables import runs
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.application.run_transitions import RunTransitions
from wfa.application.use_cases.fire_schedules import FireSchedules
from wfa.application.use_cases.start_run import StartRun
from wfa.application.use_cases.workflows import RegisterWorkflow

pytestmark = pytest.mark.asyncio

T0 = datetime(2030, 1, 1, tzinfo=UTC)
WORKFLOWS = 40
SCHEDULERS = 4


def scheduler(database: Database, clock: FakeClock) -> FireSchedules:
    transitions = RunTransitions(
        database.unit_of_work, InMemoryJobQueue(), InMemoryEventPublisher(), clock
    )
    start = StartRun(database.unit_of_work, transitions, clock, SystemEntropy())
    return FireSchedules(database.unit_of_work, start, clock, timedelta(hours=1))


async def test_concurrent_schedulers_start_one_run_per_fire(postgres_database: Database) -> None:
    clock = FakeClock(T0)
    register = RegisterWorkflow(
        postgres_database.unit_of_work, ActionRegistry(builtin_actions()), clock, SystemEntropy()
    )
    for number in range(WORKFLOWS):
        await register.execute(
            {
                "name": f"every-minute-{number}",
                "trigger": {"type": "schedule", "cron": "* * * * *", "overlap": "allow"},
                "steps": [{"id": "work", "type": "task", "action": "noop"}],
            }
        )
    clock.set(T0 + timedelta(minutes=5, seconds=30))  # five fires due on every schedule
    contenders = [scheduler(postgres_database, clock) for _ in range(SCHEDULERS)]

    started = 0
    for _ in range(20):  # each contender takes small batches, so they meet on the rows
        counts = await asyncio.gather(*(c.execute(limit=3) for c in contenders))
        started += sum(counts)
        if not any(counts):
            break

    async with postgres_database.engine.connect() as connection:
        per_fire = await connection.execute(
            select(runs.c.workflow_id, runs.c.idempotency_key, func.count()).group_by(
                runs.c.workflow_id, runs.c.idempotency_key
            )
        )
        counts_by_fire = [row[2] for row in per_fire]
    assert started == WORKFLOWS * 5
    assert len(counts_by_fire) == WORKFLOWS * 5
    assert set(counts_by_fire) == {1}
