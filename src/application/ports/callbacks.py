"""Callback tokens: what a task's callback URL carries, unforgeable without the server's key."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec


class CallbackRef(msgspec.Struct, frozen=True, kw_only=True):
    """The one attempt a callback token resumes, and when it stops being any use."""

    run_id: str
    step_id: str
    attempt: int
    expires_at: datetime


class CallbackTokens(Protocol):
    def issue(self, ref: CallbackRef) -> str:
        """A URL-safe token for ``ref`` that nobody without the server's key can make or
        change. Raises SecretKeyUnavailable when the server has no key to sign with."""
        ...

    def read(self, token: str) -> CallbackRef | None:
        """What a token this server issued says; None for anything else (forged, changed,
        truncated, or signed with a key no longer configured)."""
        ...
