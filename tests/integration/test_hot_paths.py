"""What each database's hot path (PostgreSQL's prepared statements, SQLite's statements
handed to the driver) writes reads back identically through the SQLAlchemy statements of
the generic repositories, and the other way round: rows, columns and decoded values alike."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from tests.integration.test_repository_contract import DEFINITION, T0, new_run
from wfa.adapters.persistence.sqlalchemy.postgres_runs import PostgresRuns, PostgresWorkflows
from wfa.adapters.persistence.sqlalchemy.repositories import SqlRuns
from wfa.adapters.persistence.sqlalchemy.sqlite_runs import SqliteRuns, SqliteWorkflows
from wfa.adapters.persistence.sqlalchemy.tables import run_events, runs
from wfa.adapters.persistence.sqlalchemy.workflows import SqlWorkflows
from wfa.domain import machine
from wfa.domain.commands import BeginAttempt, SendSignal
from wfa.domain.events import ParentLink
from wfa.domain.run import Run
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

HOT = {"postgres": (PostgresRuns, PostgresWorkflows), "sqlite": (SqliteRuns, SqliteWorkflows)}


@pytest.fixture(params=["postgres", "sqlite"])
def database(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{request.param}_database")


def paths(database: Any) -> dict[str, Any]:
    return {
        "prepared": HOT[database.dialect.replace("postgresql", "postgres")][0],
        "sqlalchemy": SqlRuns,
    }


def child_run(run_id: str, key: str, wf: str = "wf-1") -> tuple[Run, list[Any]]:
    """A run with every column the row carries beside its state: a key, a parent, a scope."""
    decision = new_run(run_id, key=key, wf=wf)
    link = ParentLink(run_id="parent", step_id="each", attempt=1, index=3, kind="iteration")
    run = msgspec.structs.replace(decision.run, parent=link, scope="each")
    return run, list(decision.events)


async def row_of(connection: Any, run_id: str) -> dict[str, Any]:
    row = (await connection.execute(select(runs).where(runs.c.id == run_id))).mappings().one()
    events = (
        await connection.execute(
            select(run_events).where(run_events.c.run_id == run_id).order_by(run_events.c.seq)
        )
    ).mappings()
    return {
        "run": {k: v for k, v in row.items() if k != "id"},
        "events": [{k: v for k, v in e.items() if k != "run_id"} for e in events],
    }


@pytest.mark.parametrize(
    ("writer", "reader"), [("prepared", "sqlalchemy"), ("sqlalchemy", "prepared")]
)
async def test_a_run_written_one_way_reads_back_the_other_way(database, writer, reader):
    PATHS = paths(database)
    run, events = child_run(f"by-{writer}", key=f"key-by-{writer}")
    async with database.engine.connect() as connection:
        await connection.begin()
        await PATHS[writer](connection).add(run, events)
        claimed = machine.decide(DEFINITION, run, BeginAttempt(step_id="a", attempt=1), T0)
        signalled = machine.decide(
            DEFINITION, claimed.run, SendSignal(name="go", payload={"n": 1}, key="k-1"), T0
        )
        await PATHS[writer](connection).save(claimed.run, claimed.events, expected_seq=run.seq)
        await PATHS[writer](connection).save(
            signalled.run, signalled.events, expected_seq=claimed.run.seq
        )
        other = PATHS[reader](connection)
        assert await other.get(run.id) == signalled.run
        assert await other.history(run.id) == [*events, *claimed.events, *signalled.events]
        assert await other.signal_by_key(run.id, "k-1") == signalled.events[0]
        assert await other.by_idempotency_key(run.workflow_id, f"key-by-{writer}") == signalled.run
        await connection.rollback()


async def test_both_ways_write_the_same_rows(database):
    written = {}
    async with database.engine.connect() as connection:
        await connection.begin()
        for name, repository in paths(database).items():
            run, events = child_run(name, key="same-key", wf=name)
            await repository(connection).add(run, events)
            claimed = machine.decide(DEFINITION, run, BeginAttempt(step_id="a", attempt=1), T0)
            await repository(connection).save(claimed.run, claimed.events, expected_seq=run.seq)
            written[name] = await row_of(connection, run.id)
        await connection.rollback()
    prepared, generic = written["prepared"], written["sqlalchemy"]
    for found in (prepared, generic):  # the ids differ by design; the rest must not
        found["run"].pop("workflow_id")
        found["run"]["state"].pop("id")
        found["run"]["state"].pop("workflow_id")
        for event in found["events"]:
            event["data"].pop("run_id", None)
            event["data"].pop("workflow_id", None)
    assert prepared == generic


async def test_a_workflow_reads_the_same_both_ways(database):
    hot = HOT[database.dialect.replace("postgresql", "postgres")][1]
    async with database.engine.connect() as connection:
        await connection.begin()
        hooked = parse_definition(
            {
                "name": "hooked",
                "trigger": {"type": "webhook", "path": "orders/new"},
                "steps": [{"id": "a", "type": "task", "action": "noop"}],
            }
        )
        stored = Workflow(id="wf-hooked", version=1, definition=hooked, created_at=T0)
        await SqlWorkflows(connection).add(stored)
        for repository in (SqlWorkflows(connection), hot(connection)):
            assert await repository.get("wf-hooked") == stored
            assert await repository.get("wf-hooked", 1) == stored
            assert await repository.by_webhook("orders/new") == stored
            assert await repository.by_webhook("orders/old") is None
        second = msgspec.structs.replace(stored, version=2)
        await SqlWorkflows(connection).add(second)
        for repository in (SqlWorkflows(connection), hot(connection)):
            assert await repository.get("wf-hooked") == second  # the latest version
            assert await repository.by_webhook("orders/new") == second
        assert await SqlWorkflows(connection).delete("wf-hooked")
        for repository in (SqlWorkflows(connection), hot(connection)):
            assert await repository.get("wf-hooked") is None
            assert await repository.by_webhook("orders/new") is None
        await connection.rollback()
