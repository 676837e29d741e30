"""A retry whose backoff is short is taken by the worker that failed the attempt."""

from __future__ import annotations

from typing import Any

from tests.recording import RecordingJobQueue
from tests.unit.application.conftest import Scripted, flaky, task, workflow
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.clock import SystemClock
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
