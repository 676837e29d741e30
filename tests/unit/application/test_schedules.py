"""Schedule triggers end to end on a fake clock: DST, downtime, overlap, crashes, versions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.delegating import DelegatingUnitOfWork
from tests.unit.application.conftest import CountedEngine
from wfa.adapters.clock import FakeClock
from wfa.application.ports.repositories import RunFilter
from wfa.application.use_cases.workflows import DeleteWorkflow
from wfa.domain.run import RunStatus

pytestmark = pytest.mark.asyncio

MINUTE = timedelta(minutes=1)


def scheduled(cron: str, zone: str = "UTC", overlap: str = "skip", *steps: Any) -> dict[str, Any]:
    return {
        "name": "scheduled",
        "triggers": [{"type": "schedule", "cron": cron, "timezone": zone, "overlap": overlap}],
        "steps": list(steps) or [{"id": "done", "type": "succeed", "output": "{{ input }}"}],
    }


def clock_of(engine: CountedEngine) -> FakeClock:
    assert isinstance(engine.clock, FakeClock)
    return engine.clock


async def runs_of(engine: CountedEngine, workflow_id: str) -> list[Any]:
    async with engine.unit_of_work() as uow:
        page = await uow.runs.page(RunFilter(workflow_id=workflow_id), limit=1000)
    return sorted(page.runs, key=lambda run: run.input["fire_time"])


async def settle(engine: CountedEngine) -> None:
    await engine.queue.drain(engine.execute_step.execute)
    while await engine.fire_due_timers.execute():
        await engine.queue.drain(engine.execute_step.execute)


async def tick(engine: CountedEngine, at: datetime) -> int:
    """At ``at``: let runs go as far as they can, fire schedules, and let their runs go."""
    clock_of(engine).set(at)
    await settle(engine)
    started = await engine.fire_schedules.execute()
    await settle(engine)
    return started


async def walk(engine: CountedEngine, until: datetime, step: timedelta) -> None:
    at = clock_of(engine).now()
    while at < until:
        at = min(at + step, until)
        await tick(engine, at)


async def test_fires_follow_wall_time_across_spring_forward(
    make_engine: Callable[..., CountedEngine],
) -> None:
    engine = make_engine()
    clock_of(engine).set(datetime(2030, 3, 8, 12, tzinfo=UTC))
    workflow = await engine.add_workflow(scheduled("30 2 * * *", "America/New_York"))

    await walk(engine, datetime(2030, 3, 12, tzinfo=UTC), timedelta(minutes=7))

    runs = await runs_of(engine, workflow.id)
    assert [run.input["fire_time"] for run in runs] == [
        "2030-03-09T07:30:00Z",  # 02:30 EST
        "2030-03-10T07:30:00Z",  # 02:30 does not exist this day: 03:30 EDT
        "2030-03-11T06:30:00Z",  # 02:30 EDT
    ]
    assert {run.status for run in runs} == {RunStatus.SUCCEEDED}
    assert {run.trigger for run in runs} == {"schedule"}


async def test_fires_follow_wall_time_across_fall_back(
    make_engine: Callable[..., CountedEngine],
) -> None:
    engine = make_engine()
    clock_of(engine).set(datetime(2030, 11, 2, 12, tzinfo=UTC))
    daily = await engine.add_workflow(scheduled("30 1 * * *", "America/New_York"))
    hourly = await engine.add_workflow(scheduled("0 * * * *", "America/New_York"))

    await walk(engine, datetime(2030, 11, 3, 8, 30, tzinfo=UTC), timedelta(minutes=11))

    assert [run.input["fire_time"] for run in await runs_of(engine, daily.id)] == [
        "2030-11-03T05:30:00Z"  # once, at the first 01:30 (EDT)
    ]
    new_york = ZoneInfo("America/New_York")
    local = [
        datetime.fromisoformat(run.input["fire_time"]).astimezone(new_york).strftime("%H:%M%z")
        for run in await runs_of(engine, hourly.id)
    ]
    # 13:00Z to 08:00Z: 20 real hours, with the repeated 01:00 local hour in both offsets.
    assert len(local) == 20
    assert "01:00-0400" in local
    assert "01:00-0500" in local


async def test_after_downtime_missed_fires_inside_the_window_run_once_each(
    make_engine: Callable[..., CountedEngine], caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(schedule_catchup=timedelta(minutes=30))
    start = clock_of(engine).now()
    workflow = await engine.add_workflow(scheduled("*/10 * * * *", overlap="allow"))

    with caplog.at_level(logging.WARNING):
        started = await tick(engine, start + timedelta(hours=2, minutes=5))

    runs = await runs_of(engine, workflow.id)
    assert started == 3
    assert [run.input["fire_time"][11:16] for run in runs] == ["01:40", "01:50", "02:00"]
    assert "older than the catch-up window" in caplog.text
    assert await tick(engine, start + timedelta(hours=2, minutes=6)) == 0  # none twice


async def test_skip_drops_fires_while_the_last_run_is_still_going(
    make_engine: Callable[..., CountedEngine],
) -> None:
    engine = make_engine()
    start = clock_of(engine).now()
    slow = [{"id": "pause", "type": "wait", "seconds": 900}, {"id": "end", "type": "succeed"}]
    workflow = await engine.add_workflow(scheduled("*/10 * * * *", "UTC", "skip", *slow))

    await walk(engine, start + timedelta(minutes=45), MINUTE)

    fired = [run.input["fire_time"][14:16] for run in await runs_of(engine, workflow.id)]
    assert fired == ["10", "30"]  # :20 and :40 came while a 15-minute run was going


async def test_buffer_one_runs_one_held_fire_when_the_run_ends(
    make_engine: Callable[..., CountedEngine],
) -> None:
    engine = make_engine()
    start = clock_of(engine).now()
    slow = [{"id": "pause", "type": "wait", "seconds": 1500}, {"id": "end", "type": "succeed"}]
    workflow = await engine.add_workflow(scheduled("*/10 * * * *", "UTC", "buffer_one", *slow))

    await walk(engine, start + timedelta(minutes=41), MINUTE)

    runs = await runs_of(engine, workflow.id)
    # :10 runs until :35; :20 is held, :30 dropped; :20 starts at :35; :40 is held again.
    assert [run.input["fire_time"][14:16] for run in runs] == ["10", "20"]
    assert runs[1].created_at == start + timedelta(minutes=35)
    async with engine.unit_of_work() as uow:
        (state,) = await uow.schedules.for_workflow(workflow.id)
    assert state.buffered_fire_at == start + timedelta(minutes=40)


async def test_allow_overlaps_runs(make_engine: Callable[..., CountedEngine]) -> None:
    engine = make_engine()
    start = clock_of(engine).now()
    slow = [{"id": "pause", "type": "wait", "seconds": 1500}, {"id": "end", "type": "succeed"}]
    workflow = await engine.add_workflow(scheduled("*/10 * * * *", "UTC", "allow", *slow))

    await walk(engine, start + timedelta(minutes=30), MINUTE)

    assert len(await runs_of(engine, workflow.id)) == 3  # :10, :20, :30, all still waiting


class LostQueue:
    """A queue that fails every send, as if the process died between commit and send."""

    async def enqueue(self, jobs: Any) -> None:
        raise ConnectionError("the queue is gone")


async def test_a_fire_committed_but_never_sent_runs_once_by_redelivery(
    make_engine: Callable[..., CountedEngine],
) -> None:
    engine = make_engine()
    start = clock_of(engine).now()
    one_task = {"id": "work", "type": "task", "action": "noop"}
    workflow = await engine.add_workflow(scheduled("0 * * * *", "UTC", "skip", one_task))
    real_queue = engine.transitions._queue
    engine.transitions._queue = LostQueue()  # type: ignore[assignment]

    assert await tick(engine, start + 61 * MINUTE) == 1
    (run,) = await runs_of(engine, workflow.id)
    assert run.status is RunStatus.RUNNING
    assert run.wake_at is not None

    engine.transitions._queue = real_queue
    await tick(engine, start + 62 * MINUTE)  # the fire is behind the schedule: no second run
    await tick(engine, start + 70 * MINUTE)  # the redelivery timer sends the job again
    (run,) = await runs_of(engine, workflow.id)
    assert run.status is RunStatus.SUCCEEDED


async def test_a_fire_whose_commit_failed_is_weighed_again(
    make_engine: Callable[..., CountedEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine()
    start = clock_of(engine).now()
    workflow = await engine.add_workflow(scheduled("0 * * * *"))
    failing = engine.fire_schedules._uow

    class CrashingCommit(DelegatingUnitOfWork):
        def __init__(self) -> None:
            super().__init__(failing())

        async def commit(self) -> None:
            raise ConnectionError("the database went away")

    monkeypatch.setattr(engine.fire_schedules, "_uow", CrashingCommit)
    with pytest.raises(ConnectionError):
        await tick(engine, start + 61 * MINUTE)
    assert await runs_of(engine, workflow.id) == []

    monkeypatch.setattr(engine.fire_schedules, "_uow", failing)
    assert await tick(engine, start + 62 * MINUTE) == 1
    assert len(await runs_of(engine, workflow.id)) == 1


async def test_versions_keep_move_or_drop_schedules(
    make_engine: Callable[..., CountedEngine],
) -> None:
    engine = make_engine()
    start = clock_of(engine).now()
    workflow = await engine.add_workflow(scheduled("0 * * * *"))
    await tick(engine, start + 61 * MINUTE)
    assert len(await runs_of(engine, workflow.id)) == 1

    await engine.update.execute(workflow.id, scheduled("0 * * * *", overlap="allow"))
    async with engine.unit_of_work() as uow:
        (kept,) = await uow.schedules.for_workflow(workflow.id)
    assert kept.next_fire_at == start + 120 * MINUTE
    assert kept.overlap == "allow"

    await engine.update.execute(
        workflow.id, {**scheduled("0 * * * *"), "triggers": [{"type": "manual"}]}
    )
    assert await tick(engine, start + 200 * MINUTE) == 0

    await engine.update.execute(workflow.id, scheduled("30 * * * *"))
    assert await tick(engine, start + 211 * MINUTE) == 1  # 03:30
    await DeleteWorkflow(engine.unit_of_work).execute(workflow.id)
    assert await tick(engine, start + 300 * MINUTE) == 0
    async with engine.unit_of_work() as uow:
        assert await uow.schedules.for_workflow(workflow.id) == []
