"""The run state machine, one transition at a time, with a fixed clock and no mocks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain.builders import BOOM, NOW, Runner, at, flow, kinds, started, task
from wfa.domain.commands import (
    BeginAttempt,
    CompleteAttempt,
    Create,
    ExtendLease,
    FailAttempt,
    RunCommand,
    Start,
    Wake,
)
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import ErrorInfo, event_type
from wfa.domain.progress import Job
from wfa.domain.run import AttemptStatus, RunStatus


def test_create_gives_a_pending_run_with_one_event() -> None:
    runner = Runner(flow(task("a")), input={"order_id": 7})

    assert runner.run.status is RunStatus.PENDING
    assert runner.run.input == {"order_id": 7}
    assert (runner.run.seq, runner.run.created_at, runner.run.wake_at) == (1, NOW, None)
    assert [event_type(event) for event in runner.history] == ["run.created"]


def test_start_schedules_the_first_task_and_emits_its_job() -> None:
    runner = Runner(flow(task("a"), task("b")))

    decision = runner.send(Start())

    assert kinds(decision) == ["run.started", "step.scheduled"]
    assert decision.jobs == (Job("r1", "a", 1),)
    assert runner.run.status is RunStatus.RUNNING
    assert runner.run.attempt is not None
    assert runner.run.attempt.status is AttemptStatus.QUEUED
    assert runner.run.wake_at == at(30)  # redelivered if no worker takes it
    assert runner.run.context()["run"] == {"id": "r1", "workflow_id": "wf", "attempt": 1}


def test_start_twice_or_create_again_is_illegal_and_changes_nothing() -> None:
    runner = started(flow(task("a")))
    before = (runner.run, len(runner.history))

    with pytest.raises(IllegalTransition, match="only a pending run can start"):
        runner.send(Start())
    with pytest.raises(IllegalTransition, match="already exists"):
        runner.send(Create(run_id="r1", workflow_id="wf", workflow_version=1))
    assert (runner.run, len(runner.history)) == before


def test_begin_complete_goes_to_the_next_task_with_the_output_in_context() -> None:
    runner = started(flow(task("a"), task("b")))

    begun = runner.send(BeginAttempt(step_id="a", attempt=1), seconds=2)
    assert kinds(begun) == ["step.started"]
    assert runner.run.attempt is not None
    assert runner.run.attempt.started_at == at(2)
    assert runner.run.wake_at == at(62)  # the default 60 s lease

    done = runner.send(CompleteAttempt(step_id="a", attempt=1, output={"n": 1}), seconds=3)
    assert kinds(done) == ["step.succeeded", "step.scheduled"]
    assert done.jobs == (Job("r1", "b", 1),)
    assert runner.run.context()["steps"] == {"a": {"output": {"n": 1}}}


def test_the_step_timeout_bounds_the_first_deadline() -> None:
    runner = started(flow(task("a", timeout=10)))

    runner.send(BeginAttempt(step_id="a", attempt=1), seconds=1)

    assert runner.run.wake_at == at(11)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(BeginAttempt(step_id="a", attempt=2), id="begin-wrong-number"),
        pytest.param(BeginAttempt(step_id="a", attempt=1), id="begin-duplicate"),
        pytest.param(CompleteAttempt(step_id="b", attempt=1), id="complete-wrong-step"),
        pytest.param(CompleteAttempt(step_id="a", attempt=7), id="complete-wrong-number"),
        pytest.param(FailAttempt(step_id="a", attempt=0, error=BOOM), id="fail-stale"),
        pytest.param(ExtendLease(step_id="b", attempt=1), id="extend-wrong-step"),
    ],
)
def test_stale_and_duplicate_attempt_commands_are_ignored(command: RunCommand) -> None:
    runner = started(flow(task("a"), task("b")))
    runner.send(BeginAttempt(step_id="a", attempt=1))
    before = runner.run

    decision = runner.send(command, seconds=5)

    assert decision.ignored
    assert (decision.run, decision.jobs) == (before, ())


def test_commands_for_an_attempt_already_decided_are_ignored() -> None:
    runner = started(flow(task("a"), task("b")))
    runner.finish("a", 1, output="first")
    before = runner.run

    for command in (
        CompleteAttempt(step_id="a", attempt=1, output="again"),
        FailAttempt(step_id="a", attempt=1, error=BOOM),
        CompleteAttempt(step_id="b", attempt=1),  # queued, never begun
        ExtendLease(step_id="b", attempt=1),
    ):
        assert runner.send(command).ignored
    assert runner.run == before


def test_a_failed_attempt_is_retried_at_the_exact_backoff_time() -> None:
    retry = {"max_attempts": 4, "initial_interval": 2.0, "backoff_rate": 3.0}
    runner = started(flow(task("a", retry=retry)))

    first = runner.fail("a", 1, seconds=10)
    assert kinds(first) == ["step.failed", "step.scheduled"]
    assert first.jobs == ()
    assert runner.run.status is RunStatus.WAITING
    attempt = runner.run.attempt
    assert attempt is not None
    assert (attempt.number, attempt.try_number, attempt.status) == (2, 2, AttemptStatus.SCHEDULED)
    assert attempt.due_at == runner.run.wake_at == at(12)

    assert runner.send(Wake(), seconds=11.9).ignored
    queued = runner.send(Wake(), seconds=12)
    assert kinds(queued) == ["step.queued"]
    assert queued.jobs == (Job("r1", "a", 2),)
    assert runner.run.status is RunStatus.RUNNING

    runner.fail("a", 2, seconds=20)
    assert runner.run.wake_at == at(26)  # 2 s x 3


def test_full_jitter_uses_the_fraction_handed_in_with_the_failure() -> None:
    runner = started(flow(task("a", retry={"jitter": "full", "initial_interval": 8})))
    runner.send(BeginAttempt(step_id="a", attempt=1))

    runner.send(FailAttempt(step_id="a", attempt=1, error=BOOM, random_fraction=0.25))

    assert runner.run.wake_at == at(2)


def test_a_queued_job_nobody_took_is_sent_again() -> None:
    runner = started(flow(task("a")))

    assert runner.send(Wake(), seconds=29).ignored
    again = runner.send(Wake(), seconds=30)

    assert kinds(again) == ["step.queued"]
    assert again.jobs == (Job("r1", "a", 1),)
    assert runner.run.wake_at == at(60)


def test_a_failure_reported_before_the_attempt_began_counts() -> None:
    runner = started(flow(task("a", retry={"max_attempts": 1})))

    runner.send(FailAttempt(step_id="a", attempt=1, error=BOOM))

    assert (runner.run.status, runner.run.error) == (RunStatus.FAILED, BOOM)


@pytest.mark.parametrize(
    ("timeout", "wake_at", "error"),
    [(10, 10, "step.timeout"), (None, 60, "worker.lost"), (100, 60, "worker.lost")],
)
def test_an_attempt_past_its_deadline_fails(timeout: Any, wake_at: float, error: str) -> None:
    step = task("a", retry={"max_attempts": 1}) | ({"timeout": timeout} if timeout else {})
    runner = started(flow(step))
    runner.send(BeginAttempt(step_id="a", attempt=1))

    assert runner.send(Wake(), seconds=wake_at - 1).ignored
    woken = runner.send(Wake(), seconds=wake_at)

    assert kinds(woken) == ["step.failed", "run.failed"]
    assert runner.run.status is RunStatus.FAILED
    assert runner.run.error is not None
    assert runner.run.error.error == error


def test_extend_lease_pushes_the_deadline_but_never_past_the_timeout() -> None:
    runner = started(flow(task("a", timeout=80), task("b")))
    runner.send(BeginAttempt(step_id="a", attempt=1))

    runner.send(ExtendLease(step_id="a", attempt=1), seconds=10)
    assert runner.run.wake_at == at(70)
    runner.send(ExtendLease(step_id="a", attempt=1), seconds=50)
    assert runner.run.wake_at == at(80)

    unbounded = started(flow(task("a")))
    unbounded.send(BeginAttempt(step_id="a", attempt=1))
    unbounded.send(ExtendLease(step_id="a", attempt=1), seconds=50)
    assert unbounded.run.wake_at == at(110)


def test_exhausted_retries_go_to_a_matching_catch_with_the_error_in_context() -> None:
    catch = [{"errors": ["db.*"], "next": "b"}, {"errors": ["http.*"], "next": "recover"}]
    definition = flow(
        task("a", retry={"max_attempts": 2, "initial_interval": 0}, catch=catch),
        task("b"),
        task("recover"),
    )
    runner = started(definition)
    runner.fail("a", 1)

    caught = runner.fail("a", 2)

    assert kinds(caught) == ["step.failed", "step.caught", "step.scheduled"]
    assert caught.jobs == (Job("r1", "recover", 1),)
    assert runner.run.context()["steps"] == {
        "a": {"error": {"error": "http.500", "message": "server error"}}
    }


def test_exhausted_retries_without_a_catch_fail_the_run() -> None:
    catch = [{"errors": ["db.*"], "next": "b"}]
    runner = started(flow(task("a", retry={"max_attempts": 2}, catch=catch), task("b")))
    runner.fail("a", 1)
    runner.send(Wake(), seconds=1)

    failed = runner.fail("a", 2, seconds=2)

    assert kinds(failed) == ["step.failed", "run.failed"]
    assert (runner.run.status, runner.run.error, runner.run.failed_step) == (
        RunStatus.FAILED,
        BOOM,
        "a",
    )
    assert (runner.run.attempt, runner.run.wake_at) == (None, None)


@pytest.mark.parametrize(
    ("retry", "error"),
    [
        ({}, ErrorInfo(error="http.400", message="bad request", retryable=False)),
        ({"non_retryable": ["http.4*"]}, ErrorInfo(error="http.400")),
        ({"retry_on": ["http.5*"]}, ErrorInfo(error="http.400")),
    ],
)
def test_errors_that_are_not_retryable_skip_the_retries(retry: Any, error: ErrorInfo) -> None:
    runner = started(flow(task("a", retry=retry)))

    assert kinds(runner.fail("a", 1, error=error)) == ["step.failed", "run.failed"]
    assert runner.run.error == error
