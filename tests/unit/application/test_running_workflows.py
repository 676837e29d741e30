"""Runs driven through the use cases on the memory adapters, as a user would see them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.application.conftest import flaky, task, workflow
from wfa.application.payloads import PayloadTooLarge
from wfa.application.ports.actions import ActionError
from wfa.application.ports.repositories import RunFilter
from wfa.application.use_cases.queries import ListRuns
from wfa.domain.events import RunSucceeded, event_type
from wfa.domain.run import AttemptStatus, RunStatus


async def test_a_three_step_run_succeeds_with_each_output_in_context(make_engine):
    engine = make_engine()
    details = await engine.run_once(
        workflow(
            task("first", "set", params={"n": "{{ input.n }}"}),
            task("second", "set", params={"double": "{{ [steps.first.output.n, input.n] }}"}),
            task("third", "set", params={"from_second": "{{ steps.second.output.double }}"}),
        ),
        input={"n": 21},
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == {"from_second": [21, 21]}
    assert [(a.step_id, a.status) for a in details.attempts] == [
        ("first", AttemptStatus.SUCCEEDED),
        ("second", AttemptStatus.SUCCEEDED),
        ("third", AttemptStatus.SUCCEEDED),
    ]


async def test_a_flaky_step_succeeds_on_its_third_attempt_at_the_backoff_times(
    make_engine, scripted
):
    engine = make_engine(flaky=flaky(2))
    retry = {"max_attempts": 3, "initial_interval": 2.0, "backoff_rate": 3.0}
    start = engine.clock.now()
    details = await engine.run_once(workflow(task("call", "flaky", retry=retry)))
    assert details.run.status is RunStatus.SUCCEEDED
    calls = details.attempts
    assert [a.status for a in calls] == [
        AttemptStatus.FAILED,
        AttemptStatus.FAILED,
        AttemptStatus.SUCCEEDED,
    ]
    assert [a.started_at - start for a in calls] == [
        timedelta(0),
        timedelta(seconds=2),
        timedelta(seconds=2 + 6),
    ]
    assert [context.try_number for _, context in scripted["flaky"].calls] == [1, 2, 3]


async def test_an_exhausted_step_goes_to_its_catch_with_the_error_in_context(make_engine):
    engine = make_engine(broken=flaky(99, "http.status.5xx"))
    details = await engine.run_once(
        workflow(
            task(
                "call",
                "broken",
                retry={"max_attempts": 2, "initial_interval": 1.0},
                catch=[{"errors": ["http.*"], "next": "recover"}],
            ),
            {"id": "done", "type": "succeed"},
            task("recover", "set", params={"caught": "{{ steps.call.error.error }}"}),
        )
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == {"caught": "http.status.5xx"}
    assert [a.status for a in details.attempts if a.step_id == "call"] == [
        AttemptStatus.FAILED,
        AttemptStatus.FAILED,
    ]


async def test_an_exhausted_step_without_catch_fails_the_run_with_its_error(make_engine):
    engine = make_engine(broken=flaky(99, "db.down"))
    details = await engine.run_once(
        workflow(task("call", "broken", retry={"max_attempts": 3, "initial_interval": 0.5}))
    )
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "db.down"
    assert details.run.failed_step == "call"
    assert len(details.attempts) == 3


async def test_a_non_retryable_error_is_not_retried(make_engine, scripted):
    engine = make_engine(strict=lambda call, ctx: ActionError("bad.input", "no", retryable=False))
    details = await engine.run_once(workflow(task("call", "strict", retry={"max_attempts": 5})))
    assert details.run.status is RunStatus.FAILED
    assert len(scripted["strict"].calls) == 1


async def test_retry_of_a_failed_run_resumes_at_the_failed_step_only(make_engine, scripted):
    engine = make_engine(first=lambda call, ctx: {"first": call}, second=flaky(1))
    flow = workflow(
        task("one", "first"),
        task("two", "second", retry={"max_attempts": 1}),
        task("three", "set", params={"one": "{{ steps.one.output }}"}),
    )
    failed = await engine.run_once(flow)
    assert failed.run.status is RunStatus.FAILED
    assert failed.run.failed_step == "two"

    await engine.retry.execute(failed.run.id)
    resumed = await engine.settle(failed.run.id)

    assert resumed.run.status is RunStatus.SUCCEEDED
    assert len(scripted["first"].calls) == 1, "a succeeded step is not run again"
    assert resumed.run.output == {"one": {"first": 1}}
    assert [(a.step_id, a.attempt, a.try_number) for a in resumed.attempts] == [
        ("one", 1, 1),
        ("two", 1, 1),
        ("two", 2, 1),
        ("three", 1, 1),
    ]


async def test_a_step_longer_than_its_timeout_fails_with_step_timeout(make_engine):
    engine = make_engine()
    details = await engine.run_once(
        workflow(
            task("slow", "sleepy", params={"seconds": 5}, timeout=0.05, retry={"max_attempts": 1})
        )
    )
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "step.timeout"


async def test_a_crashing_action_fails_its_attempt_and_is_retried(make_engine):
    engine = make_engine(crashy=lambda call, ctx: ValueError("boom") if call == 1 else "ok")
    details = await engine.run_once(workflow(task("call", "crashy", retry={"max_attempts": 2})))
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.attempts[0].error is not None
    assert details.attempts[0].error.error == "action.crashed"
    assert "ValueError: boom" in details.attempts[0].error.message


async def test_a_template_that_fails_at_run_time_fails_the_step_without_retrying(
    make_engine, scripted
):
    engine = make_engine(echo=lambda call, ctx: "x")
    details = await engine.run_once(
        workflow(
            task("call", "echo", params={"n": "{{ abs(input.name) }}"}, retry={"max_attempts": 4})
        ),
        input={"name": "not a number"},
    )
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "template.error"
    assert scripted["echo"].calls == []


async def test_an_output_that_is_not_json_fails_the_step(make_engine):
    engine = make_engine(weird=lambda call, ctx: {"when": object()})
    details = await engine.run_once(workflow(task("call", "weird", retry={"max_attempts": 1})))
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "action.bad_output"


async def test_waits_hold_the_run_until_their_time(make_engine):
    engine = make_engine()
    start = engine.clock.now()
    details = await engine.run_once(
        workflow({"id": "pause", "type": "wait", "seconds": 3600}, task("after", "noop"))
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.attempts[0].started_at - start == timedelta(hours=1)


async def test_events_are_published_in_history_order_and_end_with_the_outcome(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a"), task("b")))
    published = [event for run_id, event in engine.events.published if run_id == details.run.id]
    assert published == details.history
    assert isinstance(published[-1], RunSucceeded)
    assert [event_type(e) for e in published[:3]] == [
        "run.created",
        "run.started",
        "step.scheduled",
    ]


@pytest.mark.parametrize("status", ["waiting", "running"])
async def test_a_cancelled_run_starts_no_further_step(make_engine, scripted, status):
    engine = make_engine(count=lambda call, ctx: call)
    first = (
        {"id": "pause", "type": "wait", "seconds": 60}
        if status == "waiting"
        else task("a", "count")
    )
    wf = await engine.add_workflow(workflow(first, task("b", "count"), task("c", "count")))
    run_id = await engine.start(wf.id)
    await engine.cancel.execute(run_id, reason="changed my mind")
    details = await engine.settle(run_id)
    assert details.run.status is RunStatus.CANCELLED
    assert scripted["count"].calls == []


async def test_an_output_over_the_payload_limit_fails_its_step_without_retrying(
    make_engine, scripted
):
    engine = make_engine(max_payload_bytes=1000, big=lambda call, ctx: {"blob": "x" * 2000})
    details = await engine.run_once(workflow(task("call", "big", retry={"max_attempts": 3})))
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "output.too_large"
    assert "over the limit of 1000 bytes" in details.run.error.message
    assert len(scripted["big"].calls) == 1


async def test_an_input_over_the_payload_limit_is_refused_and_nothing_is_stored(make_engine):
    engine = make_engine(max_payload_bytes=1000)
    wf = await engine.add_workflow(workflow(task("a")))
    with pytest.raises(
        PayloadTooLarge, match="the run's input is 2011 bytes, over the limit of 1000 bytes"
    ):
        await engine.start(wf.id, input={"blob": "x" * 2000})
    page = await ListRuns(engine.unit_of_work).execute(RunFilter())
    assert page.runs == []
