"""Use cases one by one: registration and versions, idempotent starts, duplicate jobs, conflicts."""

from __future__ import annotations

import pytest

from tests.unit.application.conftest import task, workflow
from wfa.application.errors import ConcurrencyConflict, NotFound
from wfa.application.ports.repositories import RunFilter
from wfa.application.use_cases.execute_step import StepOutcome
from wfa.application.use_cases.queries import GetRunHistory, ListRuns
from wfa.application.use_cases.workflows import DeleteWorkflow, GetWorkflow, ListWorkflows
from wfa.domain import machine
from wfa.domain.commands import Cancel
from wfa.domain.errors import IllegalTransition, InvalidDefinition
from wfa.domain.run import RunStatus
from wfa.domain.validation import parse_definition


async def test_registering_refuses_unknown_actions_with_the_step_path(make_engine):
    engine = make_engine()
    with pytest.raises(InvalidDefinition) as refused:
        await engine.add_workflow(workflow(task("a", "no.such.action")))
    assert [str(p) for p in refused.value.problems] == [
        "steps[0].action: unknown action 'no.such.action' (known: fail, http.request, log, "
        "noop, set, sleep, sleepy, transform)"
    ]


async def test_a_new_version_leaves_running_runs_on_the_version_they_started(make_engine):
    engine = make_engine()
    v1 = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 10}, task("a", "set", params={"v": 1}))
    )
    run_id = await engine.start(v1.id)
    v2 = await engine.update.execute(v1.id, workflow(task("a", "set", params={"v": 2})))
    assert v2.version == 2
    assert (await GetWorkflow(engine.unit_of_work).execute(v1.id)).version == 2
    details = await engine.settle(run_id)
    assert details.run.workflow_version == 1
    assert details.run.output == {"v": 1}
    fresh = await engine.settle(await engine.start(v1.id))
    assert fresh.run.output == {"v": 2}


async def test_deleting_a_workflow_keeps_its_runs(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(workflow(task("a")))
    details = await engine.settle(await engine.start(wf.id))
    uow = engine.unit_of_work
    await DeleteWorkflow(uow).execute(wf.id)
    with pytest.raises(NotFound):
        await GetWorkflow(uow).execute(wf.id)
    assert await ListWorkflows(uow).execute() == []
    assert (await engine.get_run.execute(details.run.id)).run.status is RunStatus.SUCCEEDED
    with pytest.raises(NotFound):
        await engine.start(wf.id)
    with pytest.raises(NotFound):
        await DeleteWorkflow(uow).execute(wf.id)


async def test_the_same_idempotency_key_returns_the_first_run(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(workflow(task("a")))
    first = await engine.start(wf.id, input={"n": 1}, idempotency_key="order-1")
    again = await engine.start(wf.id, input={"n": 2}, idempotency_key="order-1")
    other = await engine.start(wf.id, input={"n": 3}, idempotency_key="order-2")
    assert again == first
    assert other != first
    page = await ListRuns(engine.unit_of_work).execute(RunFilter(workflow_id=wf.id))
    assert len(page.runs) == 2


async def test_a_duplicate_job_runs_nothing_and_moves_nothing(make_engine, scripted):
    engine = make_engine(count=lambda call, ctx: call)
    wf = await engine.add_workflow(workflow(task("a", "count"), task("b", "count")))
    run_id = await engine.start(wf.id)
    job = engine.queue.take()
    assert job is not None
    assert await engine.execute_step.execute(job) is StepOutcome.SUCCEEDED
    seq = (await engine.get_run.execute(run_id)).run.seq
    calls = len(scripted["count"].calls)
    assert await engine.execute_step.execute(job) is StepOutcome.IGNORED
    assert (await engine.get_run.execute(run_id)).run.seq == seq
    assert len(scripted["count"].calls) == calls


async def test_a_worker_goes_from_task_to_task_at_one_transaction_a_step(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(
        workflow(
            task("a"),
            {"id": "route", "type": "choice", "choices": [{"when": "`true`", "next": "b"}]},
            task("b"),
            task("c"),
            task("d"),
            task("e"),
        )
    )
    commits = engine.commits[0]
    run_id = await engine.start(wf.id)
    details = await engine.settle(run_id)
    assert details.run.status is RunStatus.SUCCEEDED
    assert len(engine.queue.sent) == 1, "only the first task goes through the queue"
    # start, claim of the first task, then one commit per task outcome (claiming the next)
    assert engine.commits[0] - commits == 1 + 1 + 5


async def test_a_job_for_an_unknown_run_is_ignored(make_engine):
    from wfa.domain.progress import Job

    engine = make_engine()
    assert await engine.execute_step.execute(Job("nope", "a", 1)) is StepOutcome.IGNORED


async def test_cancelling_a_finished_run_is_refused(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a")))
    with pytest.raises(IllegalTransition):
        await engine.cancel.execute(details.run.id)
    with pytest.raises(IllegalTransition):
        await engine.retry.execute(details.run.id)
    with pytest.raises(NotFound):
        await engine.cancel.execute("missing")


async def test_a_stale_save_is_refused_as_a_conflict(make_engine):
    engine = make_engine()
    definition = parse_definition(workflow({"id": "pause", "type": "wait", "seconds": 5}))
    wf = await engine.add_workflow(definition.to_builtins())
    run_id = await engine.start(wf.id)
    now = engine.clock.now()
    async with engine.unit_of_work() as uow:
        read_earlier = await uow.runs.get(run_id)
    assert read_earlier is not None
    won = machine.decide(definition, read_earlier, Cancel(reason="first"), now)
    async with engine.unit_of_work() as uow:
        await uow.runs.save(won.run, won.events, expected_seq=read_earlier.seq)
        await uow.commit()
    lost = machine.decide(definition, read_earlier, Cancel(reason="second"), now)
    async with engine.unit_of_work() as uow:
        with pytest.raises(ConcurrencyConflict):
            await uow.runs.save(lost.run, lost.events, expected_seq=read_earlier.seq)
    details = await engine.get_run.execute(run_id)
    assert details.run.status is RunStatus.CANCELLED
    assert details.history[-1] == won.events[-1]


async def test_history_can_be_read_from_a_sequence_number_on(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a"), task("b")))
    later = await GetRunHistory(engine.unit_of_work).execute(details.run.id, after_seq=3)
    assert [e.seq for e in later.events] == list(range(4, details.run.seq + 1))
    assert later.next_after_seq is None
    with pytest.raises(NotFound):
        await GetRunHistory(engine.unit_of_work).execute("missing")


async def test_history_reads_a_page_at_a_time_and_says_where_the_next_begins(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a"), task("b")))
    history = GetRunHistory(engine.unit_of_work)
    assert details.run.seq == 9
    pages = [await history.execute(details.run.id, after, 4) for after in (0, 4, 8)]
    assert [[e.seq for e in page.events] for page in pages] == [[1, 2, 3, 4], [5, 6, 7, 8], [9]]
    assert [page.next_after_seq for page in pages] == [4, 8, None]
    exact = await history.execute(details.run.id, 5, 4)
    assert (len(exact.events), exact.next_after_seq) == (4, None)  # no empty page after it
    assert (await history.execute(details.run.id, 9, 4)).events == []


async def test_runs_are_listed_newest_first_a_page_at_a_time(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(workflow({"id": "pause", "type": "wait", "seconds": 5}))
    started = []
    for _ in range(5):
        started.append(await engine.start(wf.id))
        engine.clock.advance(1)
    runs = ListRuns(engine.unit_of_work)
    first = await runs.execute(RunFilter(status=RunStatus.WAITING), limit=2)
    second = await runs.execute(
        RunFilter(status=RunStatus.WAITING), limit=2, cursor=first.next_cursor
    )
    third = await runs.execute(
        RunFilter(status=RunStatus.WAITING), limit=2, cursor=second.next_cursor
    )
    seen = [r.id for page in (first, second, third) for r in page.runs]
    assert seen == list(reversed(started))
    assert third.next_cursor is None
    assert (await runs.execute(RunFilter(status=RunStatus.SUCCEEDED))).runs == []
