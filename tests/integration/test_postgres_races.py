"""Races on PostgreSQL between real concurrent connections, engines and processes.

Each contender has an engine of its own. The contenders of one race meet at a rendezvous
right after their first read, so every one of them has read before any of them writes: the
race happens every time, and each test also checks the sign that it did (a refused write,
a duplicate key, a claim that skipped a locked row).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.delegating import DelegatingUnitOfWork
from tests.recording import RecordingEventPublisher, RecordingJobQueue
from wfa.adapters.clock import FakeClock, SystemEntropy
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.persistence.sqlalchemy.tables import run_events, runs
from wfa.application.errors import ConcurrencyConflict, DuplicateRun
from wfa.application.ports.repositories import RunRepository, UnitOfWork
from wfa.application.run_transitions import RunTransitions
from wfa.application.use_cases.api_keys import EnsureBootstrapKey
from wfa.application.use_cases.fire_due_timers import FireDueTimers
from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.domain import machine
from wfa.domain.children import child_run_id
from wfa.domain.commands import BeginAttempt, CompleteAttempt, Create, FailAttempt, Start
from wfa.domain.events import (
    AttemptQueued,
    AttemptSucceeded,
    ErrorInfo,
    Event,
    RunSucceeded,
    event_type,
)
from wfa.domain.progress import Job
from wfa.domain.run import AttemptStatus, Run, RunStatus
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

T0 = datetime(2030, 1, 1, tzinfo=UTC)
RETRY_DUE = T0 + timedelta(seconds=10)  # the retry below is due one second after T0
DEFINITION = parse_definition(
    {
        "name": "races",
        "steps": [
            {
                "id": "a",
                "type": "task",
                "action": "noop",
                "retry": {"max_attempts": 3, "initial_interval": 1.0},
            }
        ],
    }
)
WORKFLOW = Workflow(id="wf-races", version=1, definition=DEFINITION, created_at=T0)
RENDEZVOUS_TIMEOUT = 5.0
ROOT = Path(__file__).resolve().parents[2]


def running_run(run_id: str) -> tuple[Run, list[Event]]:
    """A started run whose first attempt of step ``a`` a worker holds."""
    created = machine.create(Create(run_id=run_id, workflow_id=WORKFLOW.id, workflow_version=1), T0)
    run, events = created.run, list(created.events)
    for command in (Start(), BeginAttempt(step_id="a", attempt=1)):
        decision = machine.decide(DEFINITION, run, command, T0)
        run, events = decision.run, events + list(decision.events)
    assert run.attempt is not None
    assert run.attempt.status is AttemptStatus.RUNNING
    return run, events


def retry_due_run(run_id: str) -> tuple[Run, list[Event]]:
    """A run whose first attempt failed; the retry (attempt 2) waits on a timer due at T0+1s."""
    run, events = running_run(run_id)
    error = ErrorInfo(error="upstream.busy", message="try later")
    failed = machine.decide(DEFINITION, run, FailAttempt(step_id="a", attempt=1, error=error), T0)
    attempt = failed.run.attempt
    assert attempt is not None
    assert (attempt.number, attempt.status) == (2, AttemptStatus.SCHEDULED)
    assert failed.run.wake_at is not None
    assert failed.run.wake_at <= RETRY_DUE
    return failed.run, events + list(failed.events)


async def seed(database: Database, stored: Sequence[tuple[Run, list[Event]]] = ()) -> None:
    async with database.unit_of_work() as uow:
        await uow.workflows.add(WORKFLOW)
        for run, events in stored:
            await uow.runs.add(run, events)
        await uow.commit()


async def history(database: Database, run_id: str) -> list[Event]:
    async with database.unit_of_work() as uow:
        return await uow.runs.history(run_id)


class Rendezvous:
    """Where contenders wait after their first read until all of them have read."""

    def __init__(self, parties: int) -> None:
        self._barrier = asyncio.Barrier(parties)

    async def arrive(self) -> None:
        # A contender that cannot read while another holds its row (a missing SKIP LOCKED)
        # never arrives: fail instead of hanging.
        async with asyncio.timeout(RENDEZVOUS_TIMEOUT):
            await self._barrier.wait()


class Contender:
    """One engine of its own on the shared schema, with its own queue and events."""

    def __init__(self, url: str, rendezvous: Rendezvous, clock: FakeClock) -> None:
        self.database = Database(url, pool_size=2)
        self.rendezvous = rendezvous
        self.first_read: Any = None
        self.has_read = False
        self.conflicts = 0  # writes refused because the run changed since it was read
        self.duplicates = 0  # runs refused because their idempotency key was taken
        self.queue = RecordingJobQueue()
        self.events = RecordingEventPublisher()
        self.transitions = RunTransitions(self.uow, self.queue, self.events, clock)
        self.fire_due_timers = FireDueTimers(self.uow, self.transitions, clock, SystemEntropy())
        self.start_run = StartRun(self.uow, self.transitions, clock, SystemEntropy())

    def uow(self) -> RacingUnitOfWork:
        return RacingUnitOfWork(self.database.unit_of_work(), self)

    async def after_read(self, value: Any) -> None:
        """Hold the first read's transaction open until every contender has read too."""
        if self.has_read:
            return
        self.has_read, self.first_read = True, value
        await self.rendezvous.arrive()


class RacingRuns:
    """The real run repository; reads meet at the rendezvous, refused writes are counted."""

    def __init__(self, inner: RunRepository, contender: Contender) -> None:
        self._inner, self._contender = inner, contender

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get(self, run_id: str, *, for_update: bool = False) -> Run | None:
        run = await self._inner.get(run_id, for_update=for_update)
        await self._contender.after_read(run)
        return run

    async def due(self, now: datetime, limit: int) -> list[str]:
        due = await self._inner.due(now, limit)
        await self._contender.after_read(due)
        return due

    async def by_idempotency_key(self, workflow_id: str, key: str) -> Run | None:
        run = await self._inner.by_idempotency_key(workflow_id, key)
        await self._contender.after_read(run)
        return run

    async def save(self, run: Run, events: Sequence[Event], expected_seq: int) -> None:
        try:
            await self._inner.save(run, events, expected_seq)
        except ConcurrencyConflict:
            self._contender.conflicts += 1
            raise

    async def add(self, run: Run, events: Sequence[Event]) -> None:
        try:
            await self._inner.add(run, events)
        except DuplicateRun:
            self._contender.duplicates += 1
            raise


class WrappedUnitOfWork(DelegatingUnitOfWork):
    """A real unit of work whose run repository is seen through ``wrap_runs``."""

    def wrap_runs(self, runs: RunRepository) -> Any:
        return runs

    @property
    def runs(self) -> Any:
        return self.wrap_runs(self._inner.runs)


class RacingUnitOfWork(WrappedUnitOfWork):
    def __init__(self, inner: UnitOfWork, contender: Contender) -> None:
        super().__init__(inner)
        self._contender = contender

    def wrap_runs(self, runs: RunRepository) -> RacingRuns:
        return RacingRuns(runs, self._contender)


@pytest.fixture
async def contenders(
    postgres_database: Database, postgres_url: str
) -> AsyncIterator[Callable[[int], list[Contender]]]:
    """Make ``n`` contenders meeting at one rendezvous, each on an engine of its own."""
    made: list[Contender] = []

    def make(n: int) -> list[Contender]:
        rendezvous, clock = Rendezvous(n), FakeClock(RETRY_DUE)
        group = [Contender(postgres_url, rendezvous, clock) for _ in range(n)]
        made.extend(group)
        return group

    yield make
    for contender in made:
        await contender.database.dispose()


async def test_two_schedulers_wake_a_due_retry_exactly_once(postgres_database, contenders):
    await seed(postgres_database, [retry_due_run("r1")])
    first, second = contenders(2)

    moved = await asyncio.gather(first.fire_due_timers.execute(), second.fire_due_timers.execute())

    # Both claims ran while the other's transaction was open; the one that found the run
    # locked skipped it instead of waiting for it.
    assert sorted([first.first_read, second.first_read]) == [[], ["r1"]]
    assert sorted(moved) == [0, 1]
    assert first.queue.sent + second.queue.sent == [Job("r1", "a", 2)]
    queued = [e for e in await history(postgres_database, "r1") if isinstance(e, AttemptQueued)]
    assert [(e.step_id, e.attempt) for e in queued] == [("a", 2)]


async def test_two_completions_of_one_attempt_apply_exactly_once(postgres_database, contenders):
    run, events = running_run("r1")
    await seed(postgres_database, [(run, events)])
    first, second = contenders(2)

    results = await asyncio.gather(
        first.transitions.apply("r1", CompleteAttempt(step_id="a", attempt=1, output="first")),
        second.transitions.apply("r1", CompleteAttempt(step_id="a", attempt=1, output="second")),
    )

    # Both decided on the same version of the run; one write was refused and decided again.
    assert first.first_read == second.first_read == run
    assert first.conflicts + second.conflicts == 1
    applied = [moved for moved in results if not moved.decision.ignored]
    ignored = [moved for moved in results if moved.decision.ignored]
    assert len(applied) == 1
    assert len(ignored) == 1
    winner = applied[0].run
    assert winner.status is RunStatus.SUCCEEDED
    assert winner.output in ("first", "second")
    async with postgres_database.unit_of_work() as uow:
        stored = await uow.runs.get("r1")
    assert stored == winner
    stored_history = await history(postgres_database, "r1")
    assert [e.output for e in stored_history if isinstance(e, AttemptSucceeded)] == [winner.output]
    assert len([e for e in stored_history if isinstance(e, RunSucceeded)]) == 1
    assert [e.seq for e in stored_history] == list(range(1, winner.seq + 1))
    published = [e for _, e in first.events.published + second.events.published]
    assert len([e for e in published if isinstance(e, AttemptSucceeded)]) == 1


async def test_one_idempotency_key_started_twice_at_once_makes_one_run(
    postgres_database, contenders
):
    await seed(postgres_database)
    first, second = contenders(2)
    request = StartRunRequest(workflow_id=WORKFLOW.id, input={"n": 1}, idempotency_key="k-1")

    started = await asyncio.gather(
        first.start_run.execute(request), second.start_run.execute(request)
    )

    # Both looked the key up before either stored a run; the second insert hit the key.
    assert first.has_read
    assert second.has_read
    assert first.first_read is None
    assert second.first_read is None
    assert first.duplicates + second.duplicates == 1
    assert started[0].run_id == started[1].run_id
    assert sorted(s.created for s in started) == [False, True]
    async with postgres_database.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(runs).where(runs.c.idempotency_key == "k-1")
        )
    assert count == 1
    assert first.queue.sent + second.queue.sent == [Job(started[0].run_id, "a", 1)]


SCHEDULER_PROCESS = """
import asyncio, sys
from tests.integration.test_postgres_races import scheduler_process
asyncio.run(scheduler_process(sys.argv[1]))
"""
PROCESSES = 3
DUE_RUNS = 60
BATCH = 3


class WarningsKept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class HoldingUnitOfWork(WrappedUnitOfWork):
    """Holds each claimed batch of due runs a moment, so other schedulers meet its locks."""

    def wrap_runs(self, runs: RunRepository) -> HoldingRuns:
        return HoldingRuns(runs)


class HoldingRuns:
    def __init__(self, inner: RunRepository) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def due(self, now: datetime, limit: int) -> list[str]:
        due = await self._inner.due(now, limit)
        await asyncio.sleep(0.02)
        return due


async def scheduler_process(url: str) -> None:
    """One scheduler in a process of its own: fire due timers until none is due.

    It prints ``ready``, waits for ``go`` on stdin, and reports as one JSON line.
    """
    warnings = WarningsKept()
    logging.getLogger("wfa").addHandler(warnings)
    database = Database(url, pool_size=2)
    clock = FakeClock(RETRY_DUE)
    queue = RecordingJobQueue()

    def uow() -> HoldingUnitOfWork:
        return HoldingUnitOfWork(database.unit_of_work())

    transitions = RunTransitions(uow, queue, InMemoryEventPublisher(), clock)
    fire = FireDueTimers(uow, transitions, clock, SystemEntropy())
    batches: list[tuple[float, float, int]] = []
    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        async with asyncio.timeout(15):
            while True:
                began = time.time()
                moved = await fire.execute(limit=BATCH)
                if not moved:
                    break
                batches.append((began, time.time(), moved))
    finally:
        await database.dispose()
    report = {
        "batches": batches,
        "jobs": [[job.run_id, job.step_id, job.attempt] for job in queue.sent],
        "warnings": warnings.messages,
    }
    print(json.dumps(report), flush=True)


async def run_schedulers(url: str) -> list[dict[str, Any]]:
    processes = []
    try:
        for _ in range(PROCESSES):
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    SCHEDULER_PROCESS,
                    url,
                    cwd=ROOT,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        async with asyncio.timeout(15):
            for process in processes:
                assert process.stdout is not None
                line = await process.stdout.readline()
                if line != b"ready\n":  # it died on the way: show why
                    _, error = await process.communicate()
                    pytest.fail(f"scheduler did not start: {line!r} {error.decode()}")
        async with asyncio.timeout(20):
            outputs = await asyncio.gather(*(p.communicate(b"go\n") for p in processes))
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    reports = []
    for process, (out, error) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, error.decode()
        reports.append(json.loads(out.decode().splitlines()[-1]))
    return reports


def overlapping(reports: list[dict[str, Any]]) -> bool:
    """True when batches of two different processes were in flight at the same time."""
    for i, one in enumerate(reports):
        for other in reports[i + 1 :]:
            for start, end, _ in one["batches"]:
                if any(s < end and start < e for s, e, _ in other["batches"]):
                    return True
    return False


async def test_scheduler_processes_share_due_runs_and_wake_each_exactly_once(
    postgres_database, postgres_url
):
    run_ids = [f"run-{index:03d}" for index in range(DUE_RUNS)]
    await seed(postgres_database, [retry_due_run(run_id) for run_id in run_ids])

    reports = await run_schedulers(postgres_url)

    assert [r["warnings"] for r in reports] == [[]] * PROCESSES, "a wake failed in a process"
    moved = [sum(batch[2] for batch in r["batches"]) for r in reports]
    assert sum(moved) == DUE_RUNS
    assert all(count > 0 for count in moved), f"not every process took part: {moved}"
    assert overlapping(reports), "the processes never worked at the same time"
    jobs = sorted(tuple(job) for r in reports for job in r["jobs"])
    assert jobs == [(run_id, "a", 2) for run_id in run_ids]
    async with postgres_database.engine.connect() as connection:
        rows = await connection.execute(
            select(run_events.c.run_id, run_events.c.attempt, func.count())
            .where(run_events.c.type == "step.queued")
            .group_by(run_events.c.run_id, run_events.c.attempt)
            .order_by(run_events.c.run_id)
        )
        queued = [tuple(row) for row in rows]
    assert queued == [(run_id, 2, 1) for run_id in run_ids]
    async with postgres_database.unit_of_work() as uow:
        assert await uow.runs.due(RETRY_DUE, DUE_RUNS) == []


class ReadThenMeet:
    """Api keys seen through a rendezvous: every contender has read before any writes."""

    def __init__(self, inner: Any, barrier: asyncio.Barrier) -> None:
        self._inner, self._barrier = inner, barrier

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def all(self) -> Any:
        keys = await self._inner.all()
        async with asyncio.timeout(RENDEZVOUS_TIMEOUT):
            await self._barrier.wait()
        return keys


class MeetingUnitOfWork(WrappedUnitOfWork):
    def __init__(self, inner: UnitOfWork, barrier: asyncio.Barrier) -> None:
        super().__init__(inner)
        self._barrier = barrier

    @property
    def api_keys(self) -> Any:
        return ReadThenMeet(self._inner.api_keys, self._barrier)


async def test_two_first_starts_make_and_print_one_admin_key(postgres_database: Database):
    barrier = asyncio.Barrier(2)
    starts = [
        EnsureBootstrapKey(
            lambda: MeetingUnitOfWork(postgres_database.unit_of_work(), barrier),
            FakeClock(T0),
            SystemEntropy(),
        )
        for _ in range(2)
    ]

    printed = await asyncio.gather(*(start.execute(None) for start in starts))

    assert barrier.n_waiting == 0  # both read an empty table before either wrote
    assert len([key for key in printed if key is not None]) == 1
    async with postgres_database.unit_of_work() as uow:
        assert await uow.api_keys.count_active() == 1


FAN = parse_definition(
    {
        "name": "fan-race",
        "steps": [
            {
                "id": "each",
                "type": "map",
                "items": "{{ input }}",
                "steps": [{"id": "t", "type": "task", "action": "noop"}],
            }
        ],
    }
)


async def test_two_iterations_ending_at_once_queue_on_their_parent_without_a_conflict(
    postgres_database, postgres_url, contenders
):
    async with postgres_database.unit_of_work() as uow:
        await uow.workflows.add(Workflow(id="wf-fan", version=1, definition=FAN, created_at=T0))
        await uow.commit()
    clock = FakeClock(T0)
    plain = RunTransitions(
        postgres_database.unit_of_work, RecordingJobQueue(), InMemoryEventPublisher(), clock
    )
    starter = StartRun(postgres_database.unit_of_work, plain, clock, SystemEntropy())
    parent_id = (await starter.execute(StartRunRequest(workflow_id="wf-fan", input=[1, 2]))).run_id
    children = [child_run_id(parent_id, "each", 1, index) for index in (0, 1)]
    for child in children:  # both iterations are running, each held by one worker
        begun = await plain.apply(child, BeginAttempt(step_id="t", attempt=1))
        assert not begun.decision.ignored

    first, second = contenders(2)
    complete = CompleteAttempt(step_id="t", attempt=1, output="done")
    await asyncio.gather(
        first.transitions.apply(children[0], complete),
        second.transitions.apply(children[1], complete),
    )

    # Both read their iteration before either wrote (the rendezvous), and each iteration's
    # end locked the parent before recording itself: the second waited for the first's
    # commit and then read the parent anew, so no write was refused.
    assert [c.first_read.status for c in (first, second)] == [RunStatus.RUNNING] * 2
    assert first.conflicts + second.conflicts == 0
    parent = list(await history(postgres_database, parent_id))
    ends = [e for e in parent if event_type(e) == "fan.child_ended"]
    assert sorted(e.index for e in ends) == [0, 1]  # type: ignore[attr-defined]
    assert isinstance(parent[-1], RunSucceeded)
    assert parent[-1].output == ["done", "done"]
