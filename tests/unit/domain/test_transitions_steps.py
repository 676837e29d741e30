"""The inline steps (choice, wait, succeed, fail), cancel and resume, decided by the machine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain.builders import NOW, Runner, at, choice, flow, kinds, started, task
from wfa.domain.commands import BeginAttempt, Cancel, Resume, Start, Wake
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import ErrorInfo, Event, RunStarted, WaitEnded
from wfa.domain.progress import Job
from wfa.domain.run import RunStatus, evolve, replay

SUCCEED = {"id": "done", "type": "succeed"}


def error_of(runner: Runner) -> str:
    assert runner.run.error is not None
    return runner.run.error.error


def branching() -> Any:
    return flow(
        choice(
            "route", ("input.total > `100`", "big"), ("input.total > `10`", "mid"), default="small"
        ),
        task("big"),
        task("mid"),
        task("small"),
    )


@pytest.mark.parametrize(("total", "chosen"), [(500, "big"), (50, "mid"), (5, "small")])
def test_a_choice_takes_the_first_branch_that_holds_else_its_default(
    total: int, chosen: str
) -> None:
    runner = Runner(branching(), input={"total": total})

    decision = runner.send(Start())

    assert kinds(decision) == ["run.started", "choice.made", "step.scheduled"]
    assert decision.jobs == (Job("r1", chosen, 1),)
    assert runner.run.current_step == chosen


def test_a_choice_reads_the_outputs_of_earlier_steps() -> None:
    runner = started(
        flow(task("fetch"), choice("check", ("steps.fetch.output.ok", "done")), SUCCEED)
    )

    runner.finish("fetch", 1, output={"ok": True})

    assert (runner.run.status, runner.run.output) == (RunStatus.SUCCEEDED, {"ok": True})


def test_a_choice_with_no_match_and_no_default_fails_the_run() -> None:
    runner = Runner(flow(choice("route", ("input.go", "done")), SUCCEED), input={"go": False})

    decision = runner.send(Start())

    assert kinds(decision) == ["run.started", "run.failed"]
    assert (error_of(runner), runner.run.failed_step) == ("choice.no_match", "route")
    assert runner.run.error == ErrorInfo(
        error="choice.no_match",
        message="no choice of step 'route' matched and it has no default",
        retryable=False,
    )


def test_a_condition_that_fails_to_evaluate_fails_the_run() -> None:
    runner = Runner(
        flow(choice("route", ("abs(input.name)", "done")), SUCCEED), input={"name": "x"}
    )

    runner.send(Start())

    assert (error_of(runner), runner.run.failed_step) == ("expression.error", "route")


def test_a_wait_for_seconds_pauses_the_run_until_woken_when_due() -> None:
    runner = Runner(flow({"id": "pause", "type": "wait", "seconds": 90}, task("after")))

    paused = runner.send(Start())
    assert kinds(paused) == ["run.started", "wait.started"]
    assert (runner.run.status, runner.run.wake_at) == (RunStatus.WAITING, at(90))

    assert runner.send(Wake(), seconds=89).ignored
    resumed = runner.send(Wake(), seconds=90)
    assert kinds(resumed) == ["wait.ended", "step.scheduled"]
    assert resumed.jobs == (Job("r1", "after", 1),)
    assert runner.run.status is RunStatus.RUNNING


@pytest.mark.parametrize(
    ("until", "run_input"),
    [
        ("2030-01-01T00:05:00+00:00", None),
        ("2030-01-01T00:05:00", None),  # no zone: UTC
        ("2030-01-01T01:05:00+01:00", None),
        ("{{ input.at }}", {"at": "2030-01-01T00:05:00Z"}),
        ("{{ input.epoch }}", {"epoch": NOW.timestamp() + 300}),
        ("{{ input.epoch }}", {"epoch": int(NOW.timestamp()) + 300}),
    ],
)
def test_a_wait_until_a_timestamp_wakes_at_that_instant(until: str, run_input: Any) -> None:
    runner = Runner(flow({"id": "pause", "type": "wait", "until": until}), input=run_input)

    runner.send(Start())

    assert (runner.run.status, runner.run.wake_at) == (RunStatus.WAITING, at(300))


@pytest.mark.parametrize(
    ("run_input", "message"),
    [
        ({"at": "next tuesday"}, "'until' is not an ISO 8601 timestamp: 'next tuesday'"),
        ({"at": None}, "'until' must be a timestamp, got None"),
        ({"at": True}, "'until' must be a timestamp, got True"),
        ({"at": ["2030-01-01"]}, "'until' must be a timestamp, got list"),
        ({"at": 1e20}, "'until' is out of range: 1e+20"),
    ],
)
def test_a_wait_until_that_is_no_timestamp_fails_the_run(run_input: Any, message: str) -> None:
    runner = Runner(
        flow({"id": "pause", "type": "wait", "until": "{{ input.at }}"}), input=run_input
    )

    runner.send(Start())

    assert runner.run.error == ErrorInfo(
        error="wait.invalid_until", message=message, retryable=False
    )
    assert runner.run.failed_step == "pause"


def test_a_wait_already_past_continues_in_the_same_decision() -> None:
    runner = Runner(
        flow({"id": "pause", "type": "wait", "until": "2029-12-31T00:00:00Z"}, task("b"))
    )

    decision = runner.send(Start())

    assert kinds(decision) == ["run.started", "wait.started", "wait.ended", "step.scheduled"]
    assert decision.jobs == (Job("r1", "b", 1),)


def test_succeed_renders_its_output_over_the_run_context() -> None:
    output = {
        "order": "{{ input.id }}",
        "said": "{{ steps.a.output }}",
        "note": "done {{ input.id }}",
    }
    runner = started(
        flow(task("a"), {"id": "done", "type": "succeed", "output": output}), {"id": 7}
    )

    finished = runner.finish("a", 1, output="hi")

    assert kinds(finished) == ["step.succeeded", "run.succeeded"]
    assert runner.run.output == {"order": 7, "said": "hi", "note": "done 7"}
    assert (runner.run.wake_at, runner.run.current_step) == (None, None)


@pytest.mark.parametrize("last", [SUCCEED, None], ids=["succeed-step", "end-of-list"])
def test_without_output_a_run_ends_with_the_last_task_output(last: Any) -> None:
    runner = started(flow(task("a"), task("b"), *([last] if last else [])))
    runner.finish("a", 1, output="first")

    runner.finish("b", 1, output={"second": 2})

    assert (runner.run.status, runner.run.output) == (RunStatus.SUCCEEDED, {"second": 2})


def test_a_succeed_output_that_fails_to_render_fails_the_run() -> None:
    runner = Runner(flow({"id": "done", "type": "succeed", "output": "{{ abs(input) }}"}))

    runner.send(Start())

    assert (error_of(runner), runner.run.failed_step) == ("expression.error", "done")


def test_a_fail_step_ends_the_run_with_its_error_and_templated_cause() -> None:
    reject = {
        "id": "reject",
        "type": "fail",
        "error": "OrderRejected",
        "cause": "order {{ input.id }}",
    }
    runner = Runner(flow(reject), input={"id": 7})

    runner.send(Start())

    assert runner.run.status is RunStatus.FAILED
    assert runner.run.error == ErrorInfo(error="OrderRejected", message="order 7", retryable=False)
    assert runner.run.failed_step == "reject"


def pending() -> Runner:
    return Runner(flow(task("a")))


def running() -> Runner:
    runner = started(flow(task("a")))
    runner.send(BeginAttempt(step_id="a", attempt=1))
    return runner


def waiting() -> Runner:
    return started(flow({"id": "pause", "type": "wait", "seconds": 60}, task("a")))


@pytest.mark.parametrize("make", [pending, running, waiting])
def test_an_unfinished_run_can_be_cancelled(make: Any) -> None:
    runner = make()

    decision = runner.send(Cancel(reason="not needed"), seconds=5)

    assert kinds(decision) == ["run.cancelled"]
    assert decision.jobs == ()
    assert runner.run.status is RunStatus.CANCELLED
    assert (runner.run.attempt, runner.run.wake_at) == (None, None)
    assert runner.send(Wake(), seconds=600).ignored
    with pytest.raises(IllegalTransition, match="already cancelled"):
        runner.send(Cancel())


def test_a_finished_run_cannot_be_cancelled() -> None:
    runner = started(flow(task("a")))
    runner.finish("a", 1)

    with pytest.raises(IllegalTransition, match="run is already succeeded"):
        runner.send(Cancel())


def test_resume_retries_the_failed_step_and_keeps_earlier_outputs() -> None:
    runner = started(flow(task("a"), task("b", retry={"max_attempts": 2, "initial_interval": 0})))
    runner.finish("a", 1, output="kept")
    runner.fail("b", 1)
    runner.fail("b", 2)
    assert runner.run.status is RunStatus.FAILED

    resumed = runner.send(Resume(), seconds=100)

    assert kinds(resumed) == ["run.resumed", "step.scheduled"]
    assert resumed.jobs == (Job("r1", "b", 3),)
    attempt = runner.run.attempt
    assert attempt is not None
    assert (attempt.step_id, attempt.number, attempt.try_number) == ("b", 3, 1)
    assert (runner.run.status, runner.run.error, runner.run.failed_step) == (
        RunStatus.RUNNING,
        None,
        None,
    )
    assert runner.run.outputs == {"a": "kept"}
    runner.finish("b", 3, output="at last", seconds=101)
    assert (runner.run.status, runner.run.output) == (RunStatus.SUCCEEDED, "at last")


def test_only_a_run_failed_at_a_retryable_step_can_be_resumed() -> None:
    running_run = started(flow(task("a")))
    failed_at_fail_step = Runner(flow({"id": "stop", "type": "fail"}))
    failed_at_fail_step.send(Start())

    with pytest.raises(IllegalTransition, match="only a failed run can be retried"):
        running_run.send(Resume())
    with pytest.raises(IllegalTransition, match="ended at a fail step"):
        failed_at_fail_step.send(Resume())


def test_choices_looping_without_a_task_hit_the_inline_step_limit() -> None:
    definition = flow(
        choice("ping", ("input.loop", "pong"), default="done"),
        choice("pong", ("input.loop", "ping"), default="done"),
        SUCCEED,
    )
    runner = Runner(definition, input={"loop": True}, max_inline_steps=5)

    decision = runner.send(Start())

    assert kinds(decision) == ["run.started", *["choice.made"] * 5, "run.failed"]
    assert runner.run.error == ErrorInfo(
        error="run.step_limit", message="more than 5 steps passed without a task", retryable=False
    )
    assert runner.run.failed_step == "pong"


def test_a_history_must_begin_with_run_created() -> None:
    with pytest.raises(ValueError, match="empty history"):
        replay([])
    with pytest.raises(ValueError, match=r"must begin with run\.created, not "):
        evolve(None, RunStarted(seq=1, at=NOW))
    with pytest.raises(ValueError, match=r"must begin with run\.created, not "):
        replay([WaitEnded(seq=1, at=NOW, step_id="w")])


class Unheard(Event, tag="unheard.of", frozen=True, kw_only=True):
    """An event this version of the run does not know."""


def test_a_history_with_an_unknown_event_is_refused() -> None:
    runner = Runner(flow(task("a")))

    with pytest.raises(ValueError, match="unknown event Unheard"):
        replay([*runner.history, Unheard(seq=2, at=NOW)])
