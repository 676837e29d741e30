"""Clocks and entropy: the real ones, and ones that tests and local runs can steer."""

from __future__ import annotations

import base64
import random
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, instant: datetime) -> None:
        if instant < self._now:
            raise ValueError("a fake clock does not run backwards")
        self._now = instant


def time_ordered_id(millis: int, random_bits: int) -> str:
    """A UUIDv7 (RFC 9562): 48 bits of milliseconds, then random bits; sorts by creation."""
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76
    value |= ((random_bits >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= random_bits & (2**62 - 1)
    return str(uuid.UUID(int=value))


class SystemEntropy:
    def __init__(self) -> None:
        # A generator of its own: the process-wide one belongs to the embedding program (and
        # to Hypothesis in tests, which takes draws on it from our threads as its own).
        self._random = random.Random()

    def fraction(self) -> float:
        return self._random.random()

    def new_id(self) -> str:
        return time_ordered_id(time.time_ns() // 1_000_000, secrets.randbits(74))

    def token(self) -> str:
        return secrets.token_urlsafe(32)


class SeededEntropy:
    """Repeatable randomness and ids, for tests and reproducible local runs."""

    def __init__(self, seed: int = 0, fraction: float | None = None) -> None:
        self._random = random.Random(seed)
        self._fraction = fraction
        self._count = 0

    def fraction(self) -> float:
        return self._random.random() if self._fraction is None else self._fraction

    def new_id(self) -> str:
        self._count += 1
        return time_ordered_id(self._count, self._random.getrandbits(74))

    def token(self) -> str:
        # The same shape as secrets.token_urlsafe(32): 32 bytes, base64url without padding.
        raw = self._random.getrandbits(256).to_bytes(32, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
