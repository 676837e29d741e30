"""A retry whose backoff is short is taken by the worker that failed the attempt."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.recording import RecordingJobQueue
from tests.unit.application.conftest import Scripted, flaky, task, workflow
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.clock import SystemClock
from wfa.application.use_cases import execute_step
from wfa.application.use_cases.execute_step import ExecuteStep
from wfa.domain.events import AttemptStarted
from wfa.domain.run import AttemptStatus, RunStatus
from wfa.entrypoints.local import LocalEngine

RETRY = {"max_attempts": 3, "initial_interval": 0.05, "backoff_rate": 1.0}


async def started(uow_factory: Any, held: float) -> tuple[LocalEngine, ExecuteStep, str]:
    registry = ActionRegistry([*builtin_actions(), Scripted("flaky", flaky(1))])
    engine = LocalEngine(
        clock=SystemClock(), actions=registry, unit_of_work=uow_factory, queue=RecordingJobQueue()
    )
    flow = await engine.add_workflow(workflow(task("call", "flaky", retry=RETRY)))
    worker = ExecuteStep(engine.transitions, registry, engine.entropy, max_held_backoff=held)
    return engine, worker, await engine.start(flow.id)


async def test_the_worker_waits_out_a_short_backoff_and_runs_the_retry_itself(uow_factory):
    engine, worker, run_id = await started(uow_factory, held=0.5)
    job = engine.queue.take()
    assert job is not None
    await worker.execute(job)
    details = await engine.get_run.execute(run_id)
    assert details.run.status is RunStatus.SUCCEEDED
    starts = [event for event in details.history if isinstance(event, AttemptStarted)]
    assert len(starts) == 2
    # The retry never went through the queue: the first attempt's job is all it was sent.
    assert engine.queue.sent == [job]


async def test_without_holding_the_retry_is_left_to_the_timers(uow_factory):
    engine, worker, run_id = await started(uow_factory, held=0.0)
    job = engine.queue.take()
    assert job is not None
    await worker.execute(job)
    run = (await engine.get_run.execute(run_id)).run
    assert run.status is RunStatus.WAITING  # its backoff
    assert run.attempt is not None
    assert run.attempt.status is AttemptStatus.SCHEDULED


async def test_a_look_names_the_next_timer_at_the_instant_it_fired_the_due_ones(uow_factory):
    engine = LocalEngine.virtual(unit_of_work=uow_factory)
    flow = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 1}, task("after"))
    )
    run_id = await engine.start(flow.id)
    until = (await engine.get_run.execute(run_id)).run.wake_at
    assert until is not None
    engine.clock.set(until - timedelta(microseconds=500))  # a hair before: an early wake
    look = await engine.fire_due_timers.look()
    assert (look.moved, look.next_at) == (0, until)  # not fired, and named: no gap between
    engine.clock.set(until)
    assert (await engine.fire_due_timers.look()).moved == 1


async def test_a_hold_that_wakes_a_little_early_still_takes_its_retry(uow_factory, monkeypatch):
    real_sleep = asyncio.sleep

    async def early(delay: float) -> None:  # as uvloop may: its timers have 1 ms resolution
        await real_sleep(max(0.0, delay - 0.0015))

    monkeypatch.setattr(execute_step.asyncio, "sleep", early)
    engine, worker, run_id = await started(uow_factory, held=0.5)
    job = engine.queue.take()
    assert job is not None
    await worker.execute(job)
    assert (await engine.get_run.execute(run_id)).run.status is RunStatus.SUCCEEDED
