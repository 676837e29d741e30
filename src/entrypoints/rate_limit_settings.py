"""Rate limits as configured: ``WFA_RATE_LIMIT_*`` read as ``600/minute``, ``2000`` or ``off``.

A plain number is per second; ``0`` or ``off`` turns that limit off. The defaults let a
single webhook take the engine's whole target rate (1,000 runs a second) twice over, and stop
a client that sends more than any real sender would.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

Unit = Literal["second", "minute", "hour", "day"]
MAX_REQUESTS = 10_000_000
_UNITS: dict[str, Unit] = {
    "s": "second",
    "sec": "second",
    "second": "second",
    "m": "minute",
    "min": "minute",
    "minute": "minute",
    "h": "hour",
    "hour": "hour",
    "d": "day",
    "day": "day",
}
_FORMAT = re.compile(r"^(\d+)\s*(?:/\s*([a-z]+))?$")


class RateLimit(msgspec.Struct, frozen=True):
    """At most ``requests`` per ``unit``; 0 requests means no limit."""

    requests: int
    unit: Unit = "second"

    def __str__(self) -> str:
        return "off" if self.requests == 0 else f"{self.requests}/{self.unit}"


OFF = RateLimit(0)
# Per webhook path: a busy hook at the engine's target rate, with room for bursts.
DEFAULT_HOOK_PATH = RateLimit(2_000)
# Per client address on /hooks: one sender (or the proxy in front of all of them) may feed
# several busy hooks.
DEFAULT_HOOK_ADDRESS = RateLimit(4_000)
# Per API key (and per address for requests without a valid key): clients, consoles and
# scripts polling runs; far above what a person or a dashboard sends.
DEFAULT_API = RateLimit(1_000)


class InvalidRateLimit(ValueError):
    """A rate limit that is not ``N``, ``N/unit`` or ``off``."""


def parse_rate_limit(value: str) -> RateLimit:
    text = value.strip().lower()
    if text in ("off", "0"):
        return OFF
    match = _FORMAT.match(text)
    unit = _UNITS.get(match.group(2) or "s") if match else None
    if match is None or unit is None:
        raise InvalidRateLimit(f"{value!r} is not a rate like 600/minute, 2000 (per second) or off")
    requests = int(match.group(1))
    if requests > MAX_REQUESTS:
        raise InvalidRateLimit(f"at most {MAX_REQUESTS} requests per unit, got {requests}")
    return OFF if requests == 0 else RateLimit(requests, unit)
