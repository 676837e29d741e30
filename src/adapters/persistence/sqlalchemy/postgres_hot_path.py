"""The hot statements on PostgreSQL, sent to psycopg as prepared statements.

Every start reads its workflow and creates a run; every step reads its run and writes it
back with its new events. Through SQLAlchemy each statement cost more CPU in Python than the
database spent on it, so on PostgreSQL these go straight to the driver, on the unit of
work's own connection and transaction: reads decode JSON text into Structs in one pass, and
each write (a run with its events) is one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import msgspec
from psycopg import AsyncConnection
from sqlalchemy.ext.asyncio import AsyncConnection as SqlConnection

from wfa.adapters.persistence.sqlalchemy.run_columns import family_columns, signal_key
from wfa.domain.definition import Definition
from wfa.domain.events import Event, event_type
from wfa.domain.run import Run
from wfa.domain.workflow import Workflow

_READ = "SELECT state::text FROM runs WHERE id = %s"
_READ_LOCKED = "SELECT state::text FROM runs WHERE id = %s FOR UPDATE"


def _with_events(run_cte: str, name: str) -> str:
    """``run_cte`` (a statement RETURNING the run's id as ``name``) and the run's events
    appended when it wrote a row; the answer is (rows written to runs, events appended)."""
    return f"""
WITH {name} AS ({run_cte}
), appended AS (
    INSERT INTO run_events (run_id, seq, type, at, step_id, attempt, data, signal_key)
    SELECT {name}.id, e.seq, e.type, e.at, e.step_id, e.attempt, e.data, e.signal_key
    FROM {name}, jsonb_to_recordset(%(events)s::jsonb) AS e(
        seq integer, type text, at timestamptz, step_id text, attempt integer, data jsonb,
        signal_key text
    )
    RETURNING 1
)
SELECT (SELECT count(*) FROM {name}), (SELECT count(*) FROM appended)
"""


_MOVE = _with_events(
    """
    UPDATE runs
    SET status = %(status)s, seq = %(seq)s, wake_at = %(wake_at)s,
        updated_at = %(updated_at)s, finished_at = %(finished_at)s, state = %(state)s::jsonb,
        awaiting_event = %(awaiting_event)s
    WHERE id = %(id)s AND seq = %(expected)s
    RETURNING id""",
    "moved",
)

_CREATE = _with_events(
    """
    INSERT INTO runs (id, workflow_id, workflow_version, status, seq, wake_at, idempotency_key,
                      created_at, updated_at, finished_at, state, parent_run_id, parent_step,
                      parent_attempt, child_index, scope, awaiting_event)
    VALUES (%(id)s, %(workflow_id)s, %(workflow_version)s, %(status)s, %(seq)s, %(wake_at)s,
            %(idempotency_key)s, %(created_at)s, %(updated_at)s, %(finished_at)s,
            %(state)s::jsonb, %(parent_run_id)s, %(parent_step)s, %(parent_attempt)s,
            %(child_index)s, %(scope)s, %(awaiting_event)s)
    ON CONFLICT DO NOTHING
    RETURNING id""",
    "created",
)

# Many new runs (a fan's children) and their events in one round trip; no idempotency keys.
_CREATE_MANY = """
WITH created AS (
    INSERT INTO runs (id, workflow_id, workflow_version, status, seq, wake_at, idempotency_key,
                      created_at, updated_at, finished_at, state, parent_run_id, parent_step,
                      parent_attempt, child_index, scope)
    SELECT r.id, r.workflow_id, r.workflow_version, r.status, r.seq, r.wake_at, NULL,
           r.created_at, r.updated_at, r.finished_at, r.state, r.parent_run_id, r.parent_step,
           r.parent_attempt, r.child_index, r.scope
    FROM jsonb_to_recordset(%(runs)s::jsonb) AS r(
        id text, workflow_id text, workflow_version integer, status text, seq integer,
        wake_at timestamptz, created_at timestamptz, updated_at timestamptz,
        finished_at timestamptz, state jsonb, parent_run_id text, parent_step text,
        parent_attempt integer, child_index integer, scope text
    )
    ON CONFLICT DO NOTHING
    RETURNING id
), appended AS (
    INSERT INTO run_events (run_id, seq, type, at, step_id, attempt, data)
    SELECT e.run_id, e.seq, e.type, e.at, e.step_id, e.attempt, e.data
    FROM jsonb_to_recordset(%(events)s::jsonb) AS e(
        run_id text, seq integer, type text, at timestamptz, step_id text, attempt integer,
        data jsonb
    )
    JOIN created ON created.id = e.run_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM created), (SELECT count(*) FROM appended)
"""

_LATEST_WORKFLOW = """
SELECT v.version, v.definition::text, v.created_at
FROM workflow_versions v
JOIN workflows w ON w.id = v.workflow_id AND w.latest_version = v.version
WHERE v.workflow_id = %s AND w.deleted_at IS NULL
"""

_WEBHOOK_WORKFLOW = """
SELECT w.id, v.version, v.definition::text, v.created_at
FROM webhook_routes r
JOIN workflows w ON w.id = r.workflow_id AND w.deleted_at IS NULL
JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
WHERE r.path = %s
"""

_encoder = msgspec.json.Encoder()


async def driver_of(connection: SqlConnection) -> AsyncConnection[Any]:
    """psycopg's connection under a SQLAlchemy one, in the same transaction."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return driver  # type: ignore[no-any-return]


class _EventRow(msgspec.Struct, omit_defaults=True):
    seq: int
    type: str
    at: Any
    step_id: str | None
    attempt: int | None
    data: Event
    run_id: str | None = None  # only where one statement appends to many runs
    signal_key: str | None = None


def _event_row(event: Event, run_id: str | None = None) -> _EventRow:
    return _EventRow(
        seq=event.seq,
        type=event_type(event),
        at=event.at,
        step_id=getattr(event, "step_id", None),
        attempt=getattr(event, "attempt", None),
        data=event,
        run_id=run_id,
        signal_key=signal_key(event),
    )


async def read_run(
    connection: AsyncConnection[Any], run_id: str, for_update: bool = False
) -> Run | None:
    cursor = await connection.execute(
        _READ_LOCKED if for_update else _READ, (run_id,), prepare=True
    )
    row = await cursor.fetchone()
    return None if row is None else msgspec.json.decode(row[0], type=Run)


async def read_latest_workflow(
    connection: AsyncConnection[Any], workflow_id: str
) -> Workflow | None:
    """The latest version of a live workflow: what every start reads."""
    cursor = await connection.execute(_LATEST_WORKFLOW, (workflow_id,), prepare=True)
    row = await cursor.fetchone()
    return None if row is None else _workflow(workflow_id, *row)


async def read_webhook_workflow(connection: AsyncConnection[Any], path: str) -> Workflow | None:
    """The latest version of the live workflow whose webhook is ``path``: every webhook's."""
    cursor = await connection.execute(_WEBHOOK_WORKFLOW, (path,), prepare=True)
    row = await cursor.fetchone()
    return None if row is None else _workflow(*row)


def _workflow(workflow_id: str, version: int, definition: str, created_at: Any) -> Workflow:
    return Workflow(
        id=workflow_id,
        version=version,
        definition=msgspec.json.decode(definition, type=Definition),
        created_at=created_at.astimezone(UTC),
    )


async def create_run(connection: AsyncConnection[Any], run: Run, events: Sequence[Event]) -> bool:
    """Store a new run with its first events; False if its id or idempotency key is taken."""
    values = (
        _state(run)
        | family_columns(run)
        | {
            "workflow_id": run.workflow_id,
            "workflow_version": run.workflow_version,
            "idempotency_key": run.idempotency_key,
            "created_at": run.created_at,
            "events": _events(events),
        }
    )
    cursor = await connection.execute(_CREATE, values, prepare=True)
    row = await cursor.fetchone()
    assert row is not None
    return bool(row[0] == 1)


class _NewRun(msgspec.Struct):
    id: str
    workflow_id: str
    workflow_version: int
    status: str
    seq: int
    wake_at: Any
    created_at: Any
    updated_at: Any
    finished_at: Any
    state: Run
    parent_run_id: str | None
    parent_step: str | None
    parent_attempt: int | None
    child_index: int | None
    scope: str | None
    awaiting_event: str | None = None  # a new run awaits nothing yet


async def create_runs(
    connection: AsyncConnection[Any], created: Sequence[tuple[Run, Sequence[Event]]]
) -> bool:
    """Store new runs without idempotency keys and their first events in one statement;
    False if one of their ids is taken (then none may be kept: the caller rolls back)."""
    rows = [
        _NewRun(
            state=run,
            workflow_id=run.workflow_id,
            workflow_version=run.workflow_version,
            created_at=run.created_at,
            **_columns_of(run),
            **family_columns(run),
        )
        for run, _ in created
    ]
    events = [_event_row(event, run.id) for run, run_events in created for event in run_events]
    values = {
        "runs": _encoder.encode(rows).decode(),
        "events": _encoder.encode(events).decode(),
    }
    cursor = await connection.execute(_CREATE_MANY, values, prepare=True)
    row = await cursor.fetchone()
    assert row is not None
    return bool(row[0] == len(rows))


def _columns_of(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": str(run.status),
        "seq": run.seq,
        "wake_at": run.wake_at,
        "updated_at": run.updated_at,
        "finished_at": run.updated_at if run.status.is_terminal else None,
        "awaiting_event": run.awaiting_event,
    }


async def move_run(
    connection: AsyncConnection[Any], run: Run, events: Sequence[Event], expected_seq: int
) -> bool:
    """Store the run's new state and append ``events``; False if its seq had moved on."""
    values = _state(run) | {"expected": expected_seq, "events": _events(events)}
    cursor = await connection.execute(_MOVE, values, prepare=True)
    row = await cursor.fetchone()
    assert row is not None
    return bool(row[0] == 1)


def _state(run: Run) -> dict[str, Any]:
    return _columns_of(run) | {"state": _encoder.encode(run).decode()}


def _events(events: Sequence[Event]) -> str:
    return _encoder.encode([_event_row(event) for event in events]).decode()
