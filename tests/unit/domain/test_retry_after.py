"""A failure that names a Retry-After: the retry waits at least that long, never less."""

from __future__ import annotations

import math

import msgspec
import pytest

from tests.unit.domain.builders import at, flow, started, task
from wfa.domain.commands import Wake
from wfa.domain.events import AttemptFailed, AttemptScheduled, ErrorInfo
from wfa.domain.retry import MAX_RETRY_AFTER_SECONDS, RetryPolicy
from wfa.domain.run import RunStatus

RETRY = {"max_attempts": 3, "initial_interval": 2.0, "backoff_rate": 2.0, "max_interval": 10.0}


def busy(retry_after: float | None) -> ErrorInfo:
    return ErrorInfo(error="http.status.429", message="slow down", retry_after=retry_after)


def test_a_retry_after_longer_than_the_backoff_delays_the_retry_to_it() -> None:
    runner = started(flow(task("a", retry=RETRY)))

    decision = runner.fail("a", 1, busy(45.0), seconds=1)

    scheduled = decision.events[-1]
    assert isinstance(scheduled, AttemptScheduled)
    assert (scheduled.try_number, scheduled.due_at) == (2, at(46))
    assert runner.run.status is RunStatus.WAITING
    assert runner.run.wake_at == at(46)  # past max_interval: the far side's word wins


def test_a_retry_after_shorter_than_the_backoff_changes_nothing() -> None:
    runner = started(flow(task("a", retry=RETRY)))

    decision = runner.fail("a", 1, busy(0.5))

    scheduled = decision.events[-1]
    assert isinstance(scheduled, AttemptScheduled)
    assert scheduled.due_at == at(2.0)  # the policy's initial interval


def test_retry_after_does_not_make_a_non_retryable_error_retried() -> None:
    runner = started(flow(task("a", retry=RETRY)))
    error = ErrorInfo(error="http.status.4xx", retryable=False, retry_after=5.0)

    runner.fail("a", 1, error)

    assert runner.run.status is RunStatus.FAILED


def test_retry_after_is_kept_in_the_history_and_omitted_when_unset() -> None:
    runner = started(flow(task("a", retry=RETRY)))

    runner.fail("a", 1, busy(30.0))
    runner.send(Wake(), seconds=30)
    runner.fail("a", 2, busy(None), seconds=30)

    failures = [event.error for event in runner.history if isinstance(event, AttemptFailed)]
    assert [error.retry_after for error in failures] == [30.0, None]
    assert b"retry_after" not in msgspec.json.encode(failures[1])


@pytest.mark.parametrize(
    ("jitter", "fraction", "retry_after", "expected"),
    [
        ("none", 0.0, None, 4.0),
        ("none", 0.0, 3.0, 4.0),
        ("none", 0.0, 9.0, 9.0),
        ("full", 0.25, 2.0, 2.0),  # jitter shortens the backoff to 1 s; the server asked for 2
        ("full", 0.25, None, 1.0),
        ("none", 0.0, -5.0, 4.0),
        ("none", 0.0, math.nan, 4.0),
        ("none", 0.0, math.inf, MAX_RETRY_AFTER_SECONDS),
        ("none", 0.0, 10 * MAX_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS),
    ],
)
def test_delay_is_the_longer_of_backoff_and_retry_after_up_to_a_day(
    jitter: str, fraction: float, retry_after: float | None, expected: float
) -> None:
    policy = RetryPolicy(initial_interval=4.0, jitter=jitter)  # type: ignore[arg-type]

    assert policy.delay_before(2, fraction, retry_after=retry_after) == expected


def test_a_policy_longer_than_a_day_is_not_shortened_by_the_cap() -> None:
    policy = RetryPolicy(initial_interval=200_000.0, max_interval=200_000.0)

    assert policy.delay_before(2, retry_after=math.inf) == 200_000.0
