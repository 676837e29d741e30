"""Await steps, signals, task callbacks and the run deadline, decided by the pure machine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain.builders import Runner, at, flow, kinds, problems, started, task, workflow
from wfa.domain.commands import (
    BeginAttempt,
    Cancel,
    CompleteAttempt,
    ResolveCallback,
    Resume,
    SendSignal,
    Start,
    Wake,
)
from wfa.domain.errors import InvalidPayload, Refusal
from wfa.domain.events import ErrorInfo
from wfa.domain.run import AttemptStatus, RunStatus
from wfa.domain.validation import parse_definition


def await_(step_id: str = "approve", signal: str = "approval", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "await", "signal": signal, **fields}


APPROVAL_SCHEMA = {
    "type": "object",
    "required": ["approved"],
    "properties": {"approved": {"type": "boolean"}, "by": {"type": "string"}},
}


def test_an_await_step_waits_for_its_signal_and_takes_its_payload_as_output() -> None:
    runner = started(flow(await_(timeout=60), task("after", params={"v": "{{ steps }}"})))
    assert runner.run.status is RunStatus.WAITING
    attempt = runner.run.attempt
    assert attempt is not None
    assert attempt.status is AttemptStatus.AWAITING
    assert attempt.signal == "approval"
    assert runner.run.wake_at == attempt.wake_at  # the await's deadline is the run's timer

    decision = runner.send(SendSignal(name="approval", payload={"approved": True}), 5)

    assert kinds(decision)[:3] == ["signal.received", "signal.consumed", "step.succeeded"]
    assert runner.run.outputs["approve"] == {"approved": True}
    assert runner.run.inbox == ()
    assert [job.step_id for job in decision.jobs] == ["after"]


def test_a_signal_sent_before_the_step_is_kept_and_taken_when_the_run_gets_there() -> None:
    runner = started(flow(task("first"), await_()))
    early = runner.send(SendSignal(name="approval", payload=1, key="k1"))
    assert kinds(early) == ["signal.received"]
    assert [signal.payload for signal in runner.run.inbox] == [1]

    decision = runner.finish("first", 1)

    assert "signal.consumed" in kinds(decision)
    assert runner.run.status is RunStatus.SUCCEEDED
    assert runner.run.output == 1


def test_signals_of_one_name_are_taken_oldest_first_and_others_stay_in_the_inbox() -> None:
    runner = started(flow(task("first"), await_("one"), await_("two")))
    for payload, name in ((1, "approval"), ("x", "other"), (2, "approval")):
        runner.send(SendSignal(name=name, payload=payload))
    runner.finish("first", 1)
    assert runner.run.outputs["one"] == 1
    assert runner.run.outputs["two"] == 2
    assert [signal.name for signal in runner.run.inbox] == ["other"]


def test_no_signal_in_time_fails_the_step_with_await_timeout_which_catch_can_route() -> None:
    definition = flow(
        await_(timeout=30, catch=[{"errors": ["await.timeout"], "next": "late"}]),
        {"id": "done", "type": "succeed"},
        {"id": "late", "type": "fail", "error": "NoAnswer"},
    )
    runner = started(definition)
    assert kinds(runner.send(Wake(), 29.9)) == []
    decision = runner.send(Wake(), 30)
    assert kinds(decision)[:2] == ["step.failed", "step.caught"]
    assert runner.run.caught["approve"].error == "await.timeout"
    assert runner.run.error is not None
    assert runner.run.error.error == "NoAnswer"


def test_an_await_retried_on_timeout_waits_again_after_its_backoff() -> None:
    retry = {"max_attempts": 2, "initial_interval": 10, "retry_on": ["await.timeout"]}
    runner = started(flow(await_(timeout=5, retry=retry)))
    runner.send(Wake(), 5)
    assert runner.run.attempt is not None
    assert runner.run.attempt.status is AttemptStatus.SCHEDULED
    runner.send(SendSignal(name="approval", payload="early"), 6)  # kept in the inbox
    decision = runner.send(Wake(), 15)
    assert kinds(decision) == [
        "await.started",
        "signal.consumed",
        "step.succeeded",
        "run.succeeded",
    ]
    assert runner.run.output == "early"


def test_a_signal_that_does_not_fit_the_waiting_steps_schema_is_refused_and_nothing_changes() -> (
    None
):
    runner = started(flow(await_(schema=APPROVAL_SCHEMA)))
    before = runner.run
    with pytest.raises(InvalidPayload) as refused:
        runner.send(SendSignal(name="approval", payload={"approved": "yes"}))
    assert [str(p) for p in refused.value.problems] == [
        "payload.approved: expected boolean, got string"
    ]
    assert runner.run == before
    runner.send(SendSignal(name="approval", payload={"approved": False, "by": "ann"}))
    assert runner.run.status is RunStatus.SUCCEEDED


def test_an_early_signal_that_does_not_fit_fails_the_step_when_it_is_taken() -> None:
    runner = started(flow(task("first"), await_(schema=APPROVAL_SCHEMA)))
    runner.send(SendSignal(name="approval", payload={}))
    runner.finish("first", 1)
    assert runner.run.status is RunStatus.FAILED
    assert runner.run.error is not None
    assert runner.run.error.error == "await.invalid_payload"
    assert "payload.approved: is required" in runner.run.error.message


def test_the_inbox_is_bounded_and_an_ended_run_takes_no_signal() -> None:
    runner = started(flow(task("first")), max_pending_signals=2)
    runner.send(SendSignal(name="a"))
    runner.send(SendSignal(name="b"))
    with pytest.raises(Refusal) as full:
        runner.send(SendSignal(name="c"))
    assert full.value.code == "signal.inbox_full"
    assert "WFA_MAX_PENDING_SIGNALS" in str(full.value)
    runner.send(Cancel())
    with pytest.raises(Refusal) as ended:
        runner.send(SendSignal(name="a"))
    assert ended.value.code == "run.ended"


def test_a_signal_is_refused_rather_than_ending_a_run_whose_history_is_full() -> None:
    runner = started(flow(await_()), max_events=5)  # created, started, scheduled, awaiting
    with pytest.raises(Refusal) as refused:
        runner.send(SendSignal(name="other"))
    assert refused.value.code == "run.history_limit"
    assert runner.run.status is RunStatus.WAITING


def test_a_pending_run_keeps_signals_for_later() -> None:
    runner = Runner(flow(await_()))
    runner.send(SendSignal(name="approval", payload="first"))
    runner.send(Start())
    assert runner.run.status is RunStatus.SUCCEEDED
    assert runner.run.output == "first"


# -- callbacks -----------------------------------------------------------------------------------


def callback_task(timeout: float = 100, **fields: Any) -> dict[str, Any]:
    return task("ask", callback={"timeout": timeout}, **fields)


def test_a_task_with_a_callback_waits_after_its_action_and_ends_with_the_callbacks_body() -> None:
    runner = started(flow(callback_task(), task("after")))
    decision = runner.finish("ask", 1, output={"message_id": 7}, seconds=1)
    assert kinds(decision) == ["await.started"]
    assert runner.run.status is RunStatus.WAITING
    assert runner.run.attempt is not None
    assert runner.run.attempt.wake_at == at(101)  # from the attempt's start (at 1 s)

    resumed = runner.send(ResolveCallback(step_id="ask", attempt=1, output={"ok": 1}), 50)
    assert kinds(resumed)[0] == "step.succeeded"
    assert runner.run.outputs["ask"] == {"ok": 1}
    with pytest.raises(Refusal) as again:
        runner.send(ResolveCallback(step_id="ask", attempt=1, output={"ok": 2}), 51)
    assert again.value.code == "callback.used"


def test_a_callback_used_while_its_action_runs_ends_the_step_and_the_late_outcome_is_stale() -> (
    None
):
    runner = started(flow(callback_task()))
    runner.send(BeginAttempt(step_id="ask", attempt=1))
    runner.send(ResolveCallback(step_id="ask", attempt=1, output="fast"), 1)
    assert runner.run.status is RunStatus.SUCCEEDED
    assert runner.send(CompleteAttempt(step_id="ask", attempt=1), 2).ignored


def test_a_callback_reporting_failure_fails_the_step_with_its_error_and_retry_applies() -> None:
    retry = {"max_attempts": 2, "initial_interval": 1, "retry_on": ["Rejected"]}
    runner = started(flow(callback_task(retry=retry)))
    runner.finish("ask", 1)
    error = ErrorInfo(error="Rejected", message="no")
    decision = runner.send(ResolveCallback(step_id="ask", attempt=1, error=error))
    assert kinds(decision) == ["step.failed", "step.scheduled"]


def test_an_unused_callback_times_out_with_callback_timeout_and_then_is_refused() -> None:
    runner = started(flow(callback_task(timeout=10, retry={"max_attempts": 1})))
    runner.finish("ask", 1, seconds=2)
    assert runner.send(Wake(), 11.9).ignored  # started at 2 s: due at 12 s
    runner.send(Wake(), 12)
    assert runner.run.error is not None
    assert runner.run.error.error == "callback.timeout"
    with pytest.raises(Refusal):
        runner.send(ResolveCallback(step_id="ask", attempt=1), 13)


def test_an_action_that_outlasts_its_callbacks_time_fails_with_callback_timeout() -> None:
    runner = started(flow(callback_task(timeout=10, retry={"max_attempts": 1})), lease=60)
    runner.send(BeginAttempt(step_id="ask", attempt=1))
    assert runner.run.attempt is not None
    assert runner.run.attempt.wake_at == at(10), "the lease never outlives the callback"
    runner.send(Wake(), 10)
    assert runner.run.error is not None
    assert runner.run.error.error == "callback.timeout"


# -- the run deadline ----------------------------------------------------------------------------


def test_a_run_past_its_timeout_fails_with_run_timeout_whatever_it_is_doing() -> None:
    definition = parse_definition(workflow(await_(timeout=3600), timeout=60))
    runner = started(definition)
    assert runner.run.wake_at == at(60)
    decision = runner.send(Wake(), 60)
    assert kinds(decision) == ["run.failed"]
    assert runner.run.error is not None
    assert runner.run.error.error == "run.timeout"
    assert not runner.run.error.retryable
    assert runner.run.failed_step == "approve"


def test_a_resumed_run_gets_a_new_deadline() -> None:
    definition = parse_definition(workflow(task("slow"), timeout=60))
    runner = started(definition)
    runner.send(Wake(), 60)
    runner.send(Resume(), 100)
    assert runner.run.deadline == at(160)
    runner.finish("slow", 2, seconds=101)
    assert runner.run.status is RunStatus.SUCCEEDED


def test_a_late_outcome_after_the_run_deadline_is_stale() -> None:
    runner = started(parse_definition(workflow(task("slow"), timeout=5)))
    runner.send(BeginAttempt(step_id="slow", attempt=1))
    runner.send(Wake(), 5)
    assert runner.send(CompleteAttempt(step_id="slow", attempt=1), 6).ignored


# -- validation ----------------------------------------------------------------------------------


def test_await_steps_callbacks_and_timeouts_are_checked_at_their_paths() -> None:
    raw = workflow(
        await_(signal="bad name", timeout=0, schema={"type": "obj", "propertys": {}}),
        callback_task(timeout=-1),
        timeout=10**9,
    )
    assert problems(raw) == [
        "steps[0].signal: 'bad name' is not a valid signal name "
        "(letters, digits and _ . : -, at most 128)",
        "steps[0].timeout: must be more than 0 and at most 31622400 seconds",
        "steps[0].schema.propertys: unknown schema keyword (known: additionalProperties, "
        "const, description, enum, items, maxItems, maxLength, maximum, minItems, minLength, "
        "minimum, properties, required, type)",
        "steps[0].schema.type: must be one of object, array, string, number, integer, "
        "boolean, null, or a list of them",
        "steps[1].callback.timeout: must be more than 0 and at most 31622400 seconds",
        "timeout: must be more than 0 and at most 31622400 seconds",
    ]
