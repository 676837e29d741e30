"""Posting a notice to its target: the HTTP side of ``SendNotices``."""

from __future__ import annotations

from typing import Protocol


class DeliveryFailed(Exception):
    """The target did not take the notice; ``retryable`` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool = True, retry_after: float | None = None):
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


class NoticePoster(Protocol):
    async def post(self, url: str, body: str, headers: dict[str, str], key: str) -> None:
        """POST ``body`` (JSON text, sent as it is) to ``url``; raise DeliveryFailed unless a
        2xx came back. ``key`` goes as the Idempotency-Key: the same for every attempt."""
        ...
