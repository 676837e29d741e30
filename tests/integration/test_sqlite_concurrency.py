"""Concurrent writers on one SQLite file wait their turn instead of failing.

Each transaction takes the write lock when it begins (BEGIN IMMEDIATE) and waits for it up to
the busy timeout; a deferred transaction that read first would fail with "database is
locked" when another writer got in between its read and its write. Within one process the
transactions of one database handle queue for the lock before they begin, so SQLite's busy
handler (which sleeps in steps of up to 100 ms) only settles contention between processes:
two handles on one file stand in for two processes here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from wfa.adapters.clock import FakeClock
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.application.ports.repositories import RunRepository, UnitOfWork, WorkflowRepository
from wfa.application.run_transitions import RunTransitions
from wfa.domain import machine
from wfa.domain.commands import BeginAttempt, CompleteAttempt, Create, Start
from wfa.domain.events import AttemptSucceeded, Event
from wfa.domain.run import Run, RunStatus
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

T0 = datetime(2030, 1, 1, tzinfo=UTC)
STEPS = ("one", "two", "three", "four")
DEFINITION = parse_definition(
    {"name": "busy", "steps": [{"id": s, "type": "task", "action": "noop"} for s in STEPS]}
)
WORKFLOW = Workflow(id="wf-busy", version=1, definition=DEFINITION, created_at=T0)
RUNS = 8
HOLD = 0.005  # seconds each transaction keeps the lock after its read, so others queue up


class Contention:
    """Counts transactions in flight, to show writers really had to wait for each other."""

    def __init__(self) -> None:
        self.open: dict[int, int] = {}
        self.most = 0  # transactions open at once on the file
        self.most_per_handle = 0  # ... and on one handle (one process)

    def begin(self, handle: int) -> None:
        self.open[handle] = self.open.get(handle, 0) + 1
        self.most = max(self.most, sum(self.open.values()))
        self.most_per_handle = max(self.most_per_handle, self.open[handle])

    def end(self, handle: int) -> None:
        self.open[handle] -= 1


class HoldingRuns:
    def __init__(self, inner: RunRepository) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get(self, run_id: str) -> Run | None:
        run = await self._inner.get(run_id)
        await asyncio.sleep(HOLD)  # others try to begin while this transaction has read
        return run


class HoldingUnitOfWork:
    def __init__(self, inner: UnitOfWork, contention: Contention, handle: int) -> None:
        self._inner, self._contention, self._handle = inner, contention, handle

    async def __aenter__(self) -> HoldingUnitOfWork:
        await self._inner.__aenter__()
        self._contention.begin(self._handle)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._contention.end(self._handle)
        await self._inner.__aexit__(*exc_info)

    @property
    def workflows(self) -> WorkflowRepository:
        return self._inner.workflows

    @property
    def runs(self) -> HoldingRuns:
        return HoldingRuns(self._inner.runs)

    async def commit(self) -> None:
        await self._inner.commit()


def new_run(run_id: str) -> tuple[Run, Sequence[Event]]:
    created = machine.create(Create(run_id=run_id, workflow_id=WORKFLOW.id, workflow_version=1), T0)
    started = machine.decide(DEFINITION, created.run, Start(), T0)
    return started.run, created.events + started.events


async def drive(transitions: RunTransitions, run_id: str) -> None:
    """Take the run through every step: claim each attempt, then complete it."""
    for step_id in STEPS:
        claimed = await transitions.apply(run_id, BeginAttempt(step_id=step_id, attempt=1))
        assert not claimed.decision.ignored
        output = {"run": run_id, "step": step_id}
        done = await transitions.apply(
            run_id, CompleteAttempt(step_id=step_id, attempt=1, output=output)
        )
        assert not done.decision.ignored


async def test_concurrent_writers_on_one_file_all_land_without_database_is_locked(
    sqlite_database: Database,
):
    run_ids = [f"run-{index}" for index in range(RUNS)]
    async with sqlite_database.unit_of_work() as uow:
        await uow.workflows.add(WORKFLOW)
        for run_id in run_ids:
            await uow.runs.add(*new_run(run_id))
        await uow.commit()
    contention = Contention()
    other = Database(sqlite_database.url)  # a second process's handle on the same file
    handles = [sqlite_database, other]

    def transitions_on(handle: int) -> RunTransitions:
        return RunTransitions(
            lambda: HoldingUnitOfWork(handles[handle].unit_of_work(), contention, handle),
            InMemoryJobQueue(),
            InMemoryEventPublisher(),
            FakeClock(T0),
        )

    try:
        async with asyncio.timeout(30):
            await asyncio.gather(
                *(drive(transitions_on(i % 2), run_id) for i, run_id in enumerate(run_ids))
            )
    finally:
        await other.dispose()

    assert contention.most > 1, "the writers never overlapped: nothing was tested"
    assert contention.most_per_handle == 1, "one handle's transactions queue before they begin"
    async with sqlite_database.unit_of_work() as uow:
        for run_id in run_ids:
            run = await uow.runs.get(run_id)
            assert run is not None
            assert run.status is RunStatus.SUCCEEDED
            assert run.output == {"run": run_id, "step": STEPS[-1]}
            history = await uow.runs.history(run_id)
            assert [e.seq for e in history] == list(range(1, run.seq + 1))
            succeeded = [e.step_id for e in history if isinstance(e, AttemptSucceeded)]
            assert succeeded == list(STEPS)
