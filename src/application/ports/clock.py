"""Time, randomness and identity, handed in so that tests can hold them still."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the time; always timezone-aware UTC."""

    def now(self) -> datetime: ...


class Entropy(Protocol):
    """Random fractions in [0, 1) for retry jitter, new unique ids, and secret tokens."""

    def fraction(self) -> float: ...

    def new_id(self) -> str:
        """A new id, unique across processes; ids sort roughly by creation time."""
        ...

    def token(self) -> str:
        """43 URL-safe characters carrying 256 bits nobody can guess (for API keys)."""
        ...
