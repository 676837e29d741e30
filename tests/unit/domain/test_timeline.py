"""The timeline read model: every attempt of every task step, as the run's history tells it."""

from __future__ import annotations

from tests.unit.domain.builders import BOOM, Runner, at, flow, started, task
from wfa.domain.commands import BeginAttempt, Cancel, Wake
from wfa.domain.run import AttemptStatus
from wfa.domain.timeline import AttemptRecord, attempts


def test_a_new_run_has_no_attempts() -> None:
    assert attempts(Runner(flow(task("a"))).history) == []


def test_every_attempt_is_listed_with_its_times_status_error_and_output() -> None:
    runner = started(flow(task("fetch", retry={"initial_interval": 5}), task("notify")))
    runner.fail("fetch", 1, seconds=2)
    runner.send(Wake(), seconds=7)
    runner.finish("fetch", 2, output={"total": 150}, seconds=10)
    runner.send(BeginAttempt(step_id="notify", attempt=1), seconds=11)

    assert attempts(runner.history) == [
        AttemptRecord(
            step_id="fetch",
            attempt=1,
            try_number=1,
            status=AttemptStatus.FAILED,
            scheduled_at=at(0),
            due_at=at(0),
            started_at=at(2),
            ended_at=at(2),
            error=BOOM,
        ),
        AttemptRecord(
            step_id="fetch",
            attempt=2,
            try_number=2,
            status=AttemptStatus.SUCCEEDED,
            scheduled_at=at(2),
            due_at=at(7),
            started_at=at(10),
            ended_at=at(10),
            output={"total": 150},
        ),
        AttemptRecord(
            step_id="notify",
            attempt=1,
            try_number=1,
            status=AttemptStatus.RUNNING,
            scheduled_at=at(10),
            due_at=at(10),
            started_at=at(11),
        ),
    ]


def test_a_retry_is_scheduled_until_it_comes_due_and_is_queued() -> None:
    runner = started(flow(task("a", retry={"initial_interval": 30})))
    runner.fail("a", 1, seconds=1)

    assert attempts(runner.history)[-1].status is AttemptStatus.SCHEDULED
    runner.send(Wake(), seconds=31)
    assert attempts(runner.history)[-1].status is AttemptStatus.QUEUED


def test_duration_is_known_once_an_attempt_has_started_and_ended() -> None:
    runner = started(flow(task("a"), task("b")))
    runner.send(BeginAttempt(step_id="a", attempt=1), seconds=1)
    assert attempts(runner.history)[0].duration is None

    runner.finish("a", 1, seconds=4.5)  # the repeated begin is ignored as a duplicate

    first, second = attempts(runner.history)
    assert first.duration == 3.5
    assert second.duration is None


def test_cancelling_marks_the_open_attempt_cancelled_and_keeps_the_finished_ones() -> None:
    runner = started(flow(task("a"), task("b")))
    runner.finish("a", 1, output="ok", seconds=1)
    runner.send(BeginAttempt(step_id="b", attempt=1), seconds=2)

    runner.send(Cancel(reason="stop"), seconds=3)

    done, open_one = attempts(runner.history)
    assert (done.status, done.ended_at, done.output) == (AttemptStatus.SUCCEEDED, at(1), "ok")
    assert (open_one.status, open_one.ended_at) == (AttemptStatus.CANCELLED, at(3))
    assert open_one.started_at == at(2)


def test_cancelling_during_a_retry_backoff_cancels_the_scheduled_attempt() -> None:
    runner = started(flow(task("a", retry={"initial_interval": 60})))
    runner.fail("a", 1)

    runner.send(Cancel(), seconds=10)

    failed, scheduled = attempts(runner.history)
    assert failed.status is AttemptStatus.FAILED
    assert (scheduled.status, scheduled.started_at, scheduled.ended_at) == (
        AttemptStatus.CANCELLED,
        None,
        at(10),
    )
