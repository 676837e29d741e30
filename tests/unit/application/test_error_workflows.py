"""Error workflows: a failed run starts its workflow's on_failure workflow, once per failure."""

from __future__ import annotations

import logging
from typing import Any

from tests.unit.application.conftest import task, workflow
from wfa.application.ports.repositories import RunFilter
from wfa.domain.run import Run, RunStatus

REPORT = workflow(task("report", "set", params={"got": "{{ input }}"}), name="report-failure")


def failing(on_failure: Any = "report-failure", **extra: Any) -> dict[str, Any]:
    return {
        **workflow(
            task("ok", "noop"),
            task("boom", "fail", params={"error": "Broken", "message": "it broke"}),
            name="orders",
        ),
        "on_failure": {"workflow": on_failure},
        **extra,
    }


async def runs_of(engine: Any, workflow_id: str) -> list[Run]:
    async with engine.unit_of_work() as uow:
        page = await uow.runs.page(RunFilter(workflow_id=workflow_id), 100)
    return page.runs


async def settle_all(engine: Any, runs: list[Run]) -> list[Run]:
    return [(await engine.settle(run.id)).run for run in runs]


async def test_a_failed_run_starts_its_error_workflow_with_what_failed(make_engine):
    engine = make_engine()
    report = await engine.add_workflow(REPORT)
    orders = await engine.add_workflow(failing())
    failed = await engine.settle(await engine.start(orders.id, {"order": 7}))
    assert failed.run.status is RunStatus.FAILED

    [alarm] = await settle_all(engine, await runs_of(engine, report.id))

    assert alarm.status is RunStatus.SUCCEEDED
    assert alarm.trigger == "on_failure"
    assert alarm.parent is not None
    assert (alarm.parent.run_id, alarm.parent.kind, alarm.parent.wait) == (
        failed.run.id,
        "on_failure",
        False,
    )
    got = alarm.output["got"]
    assert got == {
        "run_id": failed.run.id,
        "workflow": "orders",
        "workflow_id": orders.id,
        "workflow_version": 1,
        "failed_step": "boom",
        "error": {"error": "Broken", "message": "it broke"},
        "input": {"order": 7},
    }


async def test_each_failure_starts_one_error_run_and_a_resume_that_fails_again_another(
    make_engine,
):
    engine = make_engine()
    report = await engine.add_workflow(REPORT)
    orders = await engine.add_workflow(failing())
    run_id = await engine.start(orders.id)
    await engine.settle(run_id)
    await engine.settle(run_id)  # deciding again, waking again: nothing more starts
    assert len(await runs_of(engine, report.id)) == 1
    await engine.retry.execute(run_id)
    await engine.settle(run_id)
    alarms = await runs_of(engine, report.id)
    assert len(alarms) == 2
    assert len({alarm.parent.attempt for alarm in alarms if alarm.parent}) == 2


async def test_an_error_workflow_that_fails_starts_no_other(make_engine):
    engine = make_engine()
    # It names itself: without the rule, its failure would start it again, and again.
    broken = {
        **workflow(task("x", "fail", params={"error": "Oops"}), name="broken-report"),
        "on_failure": {"workflow": "broken-report"},
    }
    reporter = await engine.add_workflow(broken)
    orders = await engine.add_workflow(failing(on_failure="broken-report"))
    await engine.settle(await engine.start(orders.id))
    [alarm] = await settle_all(engine, await runs_of(engine, reporter.id))
    assert alarm.status is RunStatus.FAILED
    assert len(await runs_of(engine, reporter.id)) == 1


async def test_an_unknown_error_workflow_is_logged_and_the_run_stays_failed(make_engine, caplog):
    engine = make_engine()
    orders = await engine.add_workflow(failing(on_failure="nobody"))
    with caplog.at_level(logging.WARNING, logger="wfa.application.run_family"):
        details = await engine.settle(await engine.start(orders.id))
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "Broken"
    assert "error workflow 'nobody'" in caplog.text


async def test_branches_do_not_start_the_error_workflow_their_run_does(make_engine):
    engine = make_engine()
    report = await engine.add_workflow(REPORT)
    definition = {
        **workflow(
            {
                "id": "each",
                "type": "map",
                "items": "{{ input }}",
                "steps": [task("boom", "fail", params={"error": "Broken"})],
            },
            name="fan",
        ),
        "on_failure": {"workflow": "report-failure"},
    }
    fan = await engine.add_workflow(definition)
    await engine.settle(await engine.start(fan.id, [1, 2, 3]))
    alarms = await runs_of(engine, report.id)
    assert len(alarms) == 1, "one for the run, none for its failed iterations"
    assert alarms[0].input["failed_step"] == "each"


async def test_error_workflows_calling_each_other_through_sub_workflows_do_not_chain(
    make_engine,
):
    """E runs F as a sub-workflow; F's error workflow is E. One failure of F starts one E,
    whose own F fails in turn and starts nothing: the lineage of an error run starts none."""
    engine = make_engine()
    f = {
        **workflow(task("x", "fail", params={"error": "Broken"}), name="f"),
        "on_failure": {"workflow": "e"},
    }
    e = workflow({"id": "call", "type": "workflow", "workflow": "f"}, name="e")
    e_workflow = await engine.add_workflow(e)
    f_workflow = await engine.add_workflow(f)
    await engine.settle(await engine.start(f_workflow.id))
    for alarm in await runs_of(engine, e_workflow.id):
        await engine.settle(alarm.id)
    await engine.queue.drain(engine.execute_step.execute)
    assert len(await runs_of(engine, e_workflow.id)) == 1
    assert len(await runs_of(engine, f_workflow.id)) == 2  # the first, and the one E ran
