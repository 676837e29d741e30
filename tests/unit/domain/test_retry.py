"""Retry policy: the contract's backoff formula, jitter, limits and which errors are retried."""

from __future__ import annotations

import pytest

from wfa.domain.retry import RetryPolicy, error_matches


def test_defaults_follow_the_contract() -> None:
    policy = RetryPolicy()

    assert policy.max_attempts == 3
    assert policy.initial_interval == 1.0
    assert policy.backoff_rate == 2.0
    assert policy.max_interval == 300.0
    assert policy.jitter == "none"
    assert policy.retry_on == ("*",)
    assert policy.non_retryable == ()


def test_default_delays_double_from_one_second_up_to_five_minutes() -> None:
    policy = RetryPolicy()

    delays = [policy.delay_before(attempt) for attempt in range(2, 13)]

    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


@pytest.mark.parametrize(
    ("attempt", "delay"),
    [(2, 0.5), (3, 1.5), (4, 4.5), (5, 13.5), (6, 20.0), (50, 20.0)],
)
def test_delay_before_attempt_n_plus_1_is_initial_times_rate_to_n_minus_1(
    attempt: int, delay: float
) -> None:
    policy = RetryPolicy(initial_interval=0.5, backoff_rate=3.0, max_interval=20.0)

    assert policy.delay_before(attempt) == pytest.approx(delay)


def test_a_rate_of_one_gives_a_constant_delay() -> None:
    policy = RetryPolicy(initial_interval=7.0, backoff_rate=1.0)

    assert {policy.delay_before(attempt) for attempt in range(2, 20)} == {7.0}


def test_huge_exponents_clamp_to_max_interval_instead_of_overflowing() -> None:
    policy = RetryPolicy(backoff_rate=10.0, max_interval=60.0)

    assert policy.delay_before(5000) == 60.0


def test_the_first_attempt_has_no_delay_to_compute() -> None:
    with pytest.raises(ValueError, match="attempt 1 starts at once"):
        RetryPolicy().base_delay_before(1)


def test_without_jitter_the_random_fraction_is_ignored() -> None:
    policy = RetryPolicy()

    assert policy.delay_before(4, random_fraction=0.1) == 4.0


@pytest.mark.parametrize(
    ("fraction", "delay"),
    [(0.0, 0.0), (0.25, 2.0), (0.5, 4.0), (0.999, 7.992)],
)
def test_full_jitter_scales_the_delay_by_the_handed_in_fraction(
    fraction: float, delay: float
) -> None:
    policy = RetryPolicy(jitter="full")

    assert policy.delay_before(5, random_fraction=fraction) == pytest.approx(delay)  # base 8 s


@pytest.mark.parametrize("fraction", [-3.0, -0.1, 1.0, 1.7, 100.0])
def test_full_jitter_stays_between_zero_and_the_base_delay(fraction: float) -> None:
    policy = RetryPolicy(jitter="full", initial_interval=2.0, max_interval=10.0)

    for attempt in range(2, 10):
        delay = policy.delay_before(attempt, random_fraction=fraction)
        assert 0.0 <= delay <= policy.base_delay_before(attempt)


def test_full_jitter_is_applied_after_the_max_interval_clamp() -> None:
    policy = RetryPolicy(jitter="full", max_interval=60.0)

    assert policy.delay_before(30, random_fraction=0.5) == 30.0


@pytest.mark.parametrize(
    ("attempts_made", "allowed"), [(1, True), (2, True), (3, False), (4, False)]
)
def test_allows_retry_until_max_attempts_were_made(attempts_made: int, allowed: bool) -> None:
    assert RetryPolicy(max_attempts=3).allows_retry("boom", attempts_made) is allowed


def test_one_attempt_means_never_retry() -> None:
    assert not RetryPolicy(max_attempts=1).allows_retry("boom", 1)


@pytest.mark.parametrize(
    ("error", "allowed"),
    [
        ("http.500", True),
        ("http.timeout", True),
        ("http", False),
        ("db.locked", True),
        ("validation", False),
        ("HTTP.500", False),  # matching is case-sensitive
    ],
)
def test_only_errors_matching_retry_on_are_retried(error: str, allowed: bool) -> None:
    policy = RetryPolicy(retry_on=("http.*", "db.locked"))

    assert policy.allows_retry(error, attempts_made=1) is allowed


def test_non_retryable_wins_over_retry_on() -> None:
    policy = RetryPolicy(retry_on=("*",), non_retryable=("http.4*",))

    assert not policy.allows_retry("http.404", attempts_made=1)
    assert policy.allows_retry("http.503", attempts_made=1)


@pytest.mark.parametrize(
    ("name", "patterns", "matches"),
    [
        ("anything", ("*",), True),
        ("http.500", ("http.*",), True),
        ("https.500", ("http.*",), False),
        ("worker.lost", ("step.timeout", "worker.lost"), True),
        ("x", (), False),
        ("http.5", ("http.?",), True),
    ],
)
def test_error_matches_uses_glob_patterns(
    name: str, patterns: tuple[str, ...], matches: bool
) -> None:
    assert error_matches(name, patterns) is matches
