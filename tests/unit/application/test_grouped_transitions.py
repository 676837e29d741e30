"""A worker's claims and outcomes asked for at once share commits, and each caller gets the
answer it would have had alone."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.application.conftest import CountingUnitOfWork, task, workflow
from wfa.application.grouped_transitions import GroupedTransitions
from wfa.application.use_cases.execute_step import ExecuteStep
from wfa.domain.commands import BeginAttempt, Cancel, CompleteAttempt, ExtendLease
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import AttemptSucceeded
from wfa.domain.run import RunStatus, replay
from wfa.entrypoints.local import LocalEngine

RUNS, STEPS = 12, 3


async def test_jobs_run_at_once_share_commits_and_every_run_ends_as_alone(uow_factory):
    commits = [0]
    engine = LocalEngine.virtual(unit_of_work=lambda: CountingUnitOfWork(uow_factory(), commits))
    flow = await engine.add_workflow(workflow(*(task(f"s{n}") for n in range(STEPS))))
    run_ids = [await engine.start(flow.id, {"n": n}) for n in range(RUNS)]
    jobs = list(iter(engine.queue.take, None))
    assert len(jobs) == RUNS
    grouped = GroupedTransitions(engine.transitions, engine.unit_of_work)
    worker = ExecuteStep(engine.transitions, engine.actions, engine.entropy, moves=grouped)
    commits[0] = 0
    await asyncio.gather(*(worker.execute(job) for job in jobs))
    # Alone: a claim, then an outcome per step (each claiming the next): 4 commits a run.
    assert commits[0] < RUNS * (STEPS + 1)
    for run_id in run_ids:
        details = await engine.get_run.execute(run_id)
        assert details.run.status is RunStatus.SUCCEEDED
        assert replay(details.history) == details.run
        ends = [e.step_id for e in details.history if isinstance(e, AttemptSucceeded)]
        assert ends == [f"s{n}" for n in range(STEPS)]


async def test_a_move_on_a_changed_run_is_decided_again_on_its_own(uow_factory):
    engine = LocalEngine.virtual(unit_of_work=uow_factory)
    flow = await engine.add_workflow(workflow(task("a"), task("b")))
    run_id = await engine.start(flow.id)
    claimed = await engine.transitions.apply(run_id, BeginAttempt(step_id="a", attempt=1))
    grouped = GroupedTransitions(engine.transitions, engine.unit_of_work)
    done, extended = await asyncio.gather(
        grouped.apply(run_id, CompleteAttempt(step_id="a", attempt=1), known=claimed.run),
        # Decided on the same stale state: its write loses, and it is decided again.
        grouped.apply(run_id, ExtendLease(step_id="a", attempt=1), known=claimed.run),
    )
    assert not done.decision.ignored
    assert extended.decision.ignored  # the attempt it would extend has ended
    history = (await engine.get_run.execute(run_id)).history
    assert [e.step_id for e in history if isinstance(e, AttemptSucceeded)] == ["a"]


async def test_a_move_refused_in_a_batch_spoils_nothing_of_the_others(uow_factory):
    engine = LocalEngine.virtual(unit_of_work=uow_factory)
    flow = await engine.add_workflow(workflow(task("a")))
    first = await engine.start(flow.id)
    await engine.settle(first)
    second = await engine.start(flow.id)
    grouped = GroupedTransitions(engine.transitions, engine.unit_of_work)
    refused, claimed = await asyncio.gather(
        grouped.apply(first, Cancel(reason="too late")),  # a finished run: refused
        grouped.apply(second, BeginAttempt(step_id="a", attempt=1)),
        return_exceptions=True,
    )
    assert isinstance(refused, IllegalTransition)
    assert not isinstance(claimed, BaseException)
    assert not claimed.decision.ignored
    assert claimed.claimed is None
    assert (await engine.get_run.execute(second)).run.status is RunStatus.RUNNING
    assert (await engine.get_run.execute(first)).run.status is RunStatus.SUCCEEDED


@pytest.mark.parametrize("size", [1, 5])
async def test_a_caller_that_stops_waiting_leaves_the_others_answered(uow_factory, size):
    engine = LocalEngine.virtual(unit_of_work=uow_factory)
    flow = await engine.add_workflow(workflow(task("a")))
    run_ids = [await engine.start(flow.id) for _ in range(size + 1)]
    grouped = GroupedTransitions(engine.transitions, engine.unit_of_work)
    asks = [
        asyncio.create_task(grouped.apply(run_id, BeginAttempt(step_id="a", attempt=1)))
        for run_id in run_ids
    ]
    asks[0].cancel()
    answers = await asyncio.gather(*asks[1:])
    assert all(not moved.decision.ignored for moved in answers)
