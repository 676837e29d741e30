"""A run's history budget: valid workflows that loop through a task end, at exactly the budget.

Without it these loops grew a run's history by about a thousand events a second, for ever.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain.builders import BOOM, Runner, choice, kinds, problems, task, workflow
from wfa.domain.commands import BeginAttempt, Cancel, CompleteAttempt, FailAttempt, Resume, Start
from wfa.domain.definition import Definition
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import RunCancelled, RunFailed
from wfa.domain.progress import HISTORY_LIMIT, EngineSettings
from wfa.domain.run import AttemptStatus, RunStatus, replay
from wfa.domain.timeline import attempts
from wfa.domain.validation import parse_definition

FATAL = BOOM.__class__(error="fatal", message="no", retryable=False)

# The three loops that never ended: each passes through a task, so no inline-step limit saw it.
LOOPS: dict[str, dict[str, Any]] = {
    "choice back to the task": workflow(
        task("a"), choice("again", ("`true`", "a")), name="loop-choice"
    ),
    "a catch that points at itself": workflow(
        task("a", catch=[{"errors": ["*"], "next": "a"}]), name="loop-catch"
    ),
    "a wait of 0 s looping back": workflow(
        task("a", catch=[{"errors": ["*"], "next": "stop"}]),
        {"id": "pause", "type": "wait", "seconds": 0, "next": "a"},
        {"id": "stop", "type": "fail"},
        name="loop-wait",
    ),
}


def loop(name: str, **limits: int) -> Definition:
    raw = dict(LOOPS[name])
    if limits:
        raw["limits"] = limits
    return parse_definition(raw)


def drive(runner: Runner, fail: bool, rounds: int = 10_000) -> None:
    """A willing worker: claim each queued attempt and complete it (or fail it, fatally)."""
    for _ in range(rounds):
        attempt = runner.run.attempt
        if runner.run.status.is_terminal or attempt is None:
            return
        if attempt.status is AttemptStatus.QUEUED:
            runner.send(BeginAttempt(step_id=attempt.step_id, attempt=attempt.number))
        elif fail:
            outcome = FailAttempt(step_id=attempt.step_id, attempt=attempt.number, error=FATAL)
            decision = runner.send(outcome)
            assert runner.run.status is RunStatus.FAILED or decision.jobs
        else:
            runner.send(CompleteAttempt(step_id=attempt.step_id, attempt=attempt.number))
    raise AssertionError("the run did not end")


def assert_spent(runner: Runner, budget: int) -> None:
    assert len(runner.history) == budget
    assert replay(runner.history) == runner.run
    last = runner.history[-1]
    assert isinstance(last, RunFailed)
    assert last.error.error == HISTORY_LIMIT
    assert not last.error.retryable
    assert runner.run.status is RunStatus.FAILED
    assert runner.run.error == last.error
    assert runner.run.wake_at is None


@pytest.mark.parametrize("name", list(LOOPS))
@pytest.mark.parametrize("budget", [2, 3, 7, 40, 101])
def test_a_looping_run_fails_with_history_limit_at_exactly_its_budget(
    name: str, budget: int
) -> None:
    runner = Runner(loop(name), max_events=budget)
    runner.send(Start())
    drive(runner, fail=name == "a catch that points at itself")

    assert_spent(runner, budget)


@pytest.mark.parametrize(
    ("engine", "own", "spent_at"), [(50, 20, 20), (20, 50, 20), (30, None, 30)]
)
def test_the_lower_of_the_engine_and_the_workflow_limit_wins(
    engine: int, own: int | None, spent_at: int
) -> None:
    definition = loop("choice back to the task", **({"max_events": own} if own else {}))
    runner = Runner(definition, max_events=engine)
    runner.send(Start())
    drive(runner, fail=False)

    assert_spent(runner, spent_at)


def test_the_default_budget_is_ten_thousand_events() -> None:
    runner = Runner(loop("choice back to the task"))
    runner.send(Start())
    drive(runner, fail=False)

    assert EngineSettings().max_events == 10_000
    assert_spent(runner, 10_000)


def test_the_decision_that_spends_the_budget_sends_no_job() -> None:
    runner = Runner(loop("choice back to the task"), max_events=7)
    runner.send(Start())  # run.created, run.started, step.scheduled: 3 events
    runner.send(BeginAttempt(step_id="a", attempt=1))  # 4
    decision = runner.send(CompleteAttempt(step_id="a", attempt=1))

    # step.succeeded (5), choice.made (6); the next try of "a" would take the last slot (7).
    assert kinds(decision) == ["step.succeeded", "choice.made", "run.failed"]
    assert decision.jobs == ()
    assert_spent(runner, 7)
    assert runner.run.failed_step == "a"


def test_an_attempt_open_when_the_budget_ran_out_shows_as_cancelled() -> None:
    runner = Runner(loop("choice back to the task"), max_events=5)
    runner.send(Start())
    runner.send(BeginAttempt(step_id="a", attempt=1))  # 4 events: the attempt is running
    runner.send(BeginAttempt(step_id="a", attempt=1))  # a duplicate: ignored
    runner.send(CompleteAttempt(step_id="a", attempt=1))  # no room for step.succeeded

    assert_spent(runner, 5)
    [record] = attempts(runner.history)
    assert (record.status, record.ended_at) == (AttemptStatus.CANCELLED, runner.history[-1].at)


def test_an_ending_takes_the_last_slot() -> None:
    # A task that succeeds into the end: run.succeeded is event 6 of a budget of 6.
    runner = Runner(parse_definition(workflow(task("a"))), max_events=6)
    runner.send(Start())
    runner.send(BeginAttempt(step_id="a", attempt=1))
    runner.send(CompleteAttempt(step_id="a", attempt=1))

    assert runner.run.status is RunStatus.SUCCEEDED
    assert len(runner.history) == 6


def test_cancel_fits_in_the_last_slot() -> None:
    runner = Runner(loop("choice back to the task"), max_events=4)
    runner.send(Start())  # 3 events: one slot left, kept for an ending

    decision = runner.send(Cancel(reason="enough"))

    assert isinstance(decision.events[-1], RunCancelled)
    assert len(runner.history) == 4


def test_a_run_failed_on_its_budget_cannot_be_retried() -> None:
    runner = Runner(loop("choice back to the task"), max_events=12)
    runner.send(Start())
    drive(runner, fail=False)

    with pytest.raises(IllegalTransition, match="history is at its limit of 12 events"):
        runner.send(Resume())
    # Nor under a larger budget: the run is over, a new run starts afresh.
    runner.settings = EngineSettings(max_events=1000)
    with pytest.raises(IllegalTransition, match="cannot be retried"):
        runner.send(Resume())


def test_a_failed_run_without_room_to_go_on_cannot_be_retried() -> None:
    definition = parse_definition(workflow(task("a")))
    runner = Runner(definition, max_events=6)
    runner.send(Start())
    runner.send(BeginAttempt(step_id="a", attempt=1))
    runner.send(FailAttempt(step_id="a", attempt=1, error=FATAL))  # 6 events, failed at "a"
    assert runner.run.error == FATAL

    with pytest.raises(IllegalTransition, match="limit of 6 events"):
        runner.send(Resume())
    runner.settings = EngineSettings(max_events=8)  # room for run.resumed, not for more
    with pytest.raises(IllegalTransition, match="limit of 8 events"):
        runner.send(Resume())
    runner.settings = EngineSettings(max_events=9)  # run.resumed, step.scheduled, an ending
    assert kinds(runner.send(Resume())) == ["run.resumed", "step.scheduled"]


def test_a_run_over_a_lowered_budget_fails_at_its_next_move() -> None:
    runner = Runner(loop("choice back to the task"), max_events=100)
    runner.send(Start())
    drive_steps = 5
    for _ in range(drive_steps):
        attempt = runner.run.attempt
        assert attempt is not None
        runner.send(BeginAttempt(step_id="a", attempt=attempt.number))
        runner.send(CompleteAttempt(step_id="a", attempt=attempt.number))
    held = len(runner.history)
    runner.settings = EngineSettings(max_events=10)  # the operator lowered it meanwhile
    attempt = runner.run.attempt
    assert attempt is not None

    decision = runner.send(BeginAttempt(step_id="a", attempt=attempt.number))

    assert kinds(decision) == ["run.failed"]
    assert len(runner.history) == held + 1
    assert runner.run.error is not None
    assert runner.run.error.error == HISTORY_LIMIT


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"max_events": 1}, "limits.max_events: must be a whole number between 2"),
        ({"max_events": 0}, "limits.max_events: must be a whole number between 2"),
        ({"max_events": 2**31}, "limits.max_events: must be a whole number between 2"),
        ({"max_events": "many"}, "limits.max_events: Expected `int | null`, got `str`"),
        ({"max_events": 2.5}, "limits.max_events: Expected `int | null`, got `float`"),
        ({"max_events": True}, "limits.max_events: Expected `int | null`, got `bool`"),
        ({"max_steps": 3}, "limits.max_steps: unknown field"),
        ("small", "limits: expected an object, got a string"),
    ],
)
def test_bad_limits_are_refused_at_their_path(limits: Any, expected: str) -> None:
    found = problems(workflow(task("a"), limits=limits))

    assert len(found) == 1
    assert found[0].startswith(expected)


def test_limits_survive_a_round_trip_and_are_left_out_when_unset() -> None:
    kept = parse_definition(workflow(task("a"), limits={"max_events": 2}))
    plain = parse_definition(workflow(task("a")))

    assert kept.to_builtins()["limits"] == {"max_events": 2}
    assert parse_definition(kept.to_builtins()) == kept
    assert "limits" not in plain.to_builtins()
    assert kept.event_budget(10_000) == 2
    assert plain.event_budget(10_000) == 10_000
