"""Retry policy: how often a failing step is tried again, and how long to wait in between."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

import msgspec

Jitter = Literal["none", "full"]

# A Retry-After longer than this is taken as this: a far side cannot park a run for years.
MAX_RETRY_AFTER_SECONDS = 86_400.0


def error_matches(name: str, patterns: tuple[str, ...]) -> bool:
    """True when an error name matches one of the patterns (``*`` and ``http.*`` style)."""
    return any(fnmatchcase(name, pattern) for pattern in patterns)


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Exponential backoff as the contract defines it.

    The delay before attempt n+1 is ``min(initial_interval * backoff_rate ** (n-1), max_interval)``;
    with ``jitter="full"`` it is then scaled by a random fraction in [0, 1) the caller hands in.
    """

    max_attempts: int = 3
    initial_interval: float = 1.0
    backoff_rate: float = 2.0
    max_interval: float = 300.0
    jitter: Jitter = "none"
    retry_on: tuple[str, ...] = ("*",)
    non_retryable: tuple[str, ...] = ()

    def base_delay_before(self, attempt: int) -> float:
        """The delay before ``attempt`` (2 or more) without jitter: the upper bound of any delay."""
        if attempt < 2:
            raise ValueError("attempt 1 starts at once; delays apply from attempt 2")
        exponent = attempt - 2
        try:
            delay = self.initial_interval * self.backoff_rate**exponent
        except OverflowError:
            return self.max_interval
        return min(delay, self.max_interval)

    def delay_before(
        self, attempt: int, random_fraction: float = 0.0, retry_after: float | None = None
    ) -> float:
        """Seconds to wait before ``attempt``; ``random_fraction`` in [0, 1) drives full jitter.

        ``retry_after`` is how long the failed attempt's far side asked us to wait (HTTP
        Retry-After): the delay is never shorter, even past ``max_interval``, up to a day.
        """
        delay = self.base_delay_before(attempt)
        if self.jitter == "full":
            delay *= min(max(random_fraction, 0.0), 1.0)
        if retry_after is not None and retry_after > delay:  # NaN compares false: ignored
            return max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay

    def allows_retry(self, error: str, attempts_made: int) -> bool:
        """True when an attempt that failed with ``error`` may be followed by another."""
        if attempts_made >= self.max_attempts:
            return False
        if error_matches(error, self.non_retryable):
            return False
        return error_matches(error, self.retry_on)
