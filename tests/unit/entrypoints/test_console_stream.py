"""A run's stream in the console ends when the session behind it no longer holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.response import ServerSentEventMessage

from wfa.entrypoints.http.console import run_pages


class Sessions:
    def __init__(self, valid_for: int) -> None:
        self.valid_for = valid_for  # how many checks pass
        self.checks = 0

    async def read(self, session: str) -> Any:
        self.checks += 1
        return object() if self.checks <= self.valid_for else None


async def messages(count: int) -> AsyncIterator[ServerSentEventMessage]:
    for n in range(count):
        yield ServerSentEventMessage(data=str(n))


async def received(sessions: Sessions) -> list[Any]:
    stream = run_pages._while_signed_in(messages(5), sessions, "s")  # type: ignore[arg-type]
    return [message.data async for message in stream]


@pytest.fixture(autouse=True)
def check_every_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_pages, "RECHECK_SECONDS", 0.0)


async def test_a_stream_goes_on_while_its_session_holds():
    assert await received(Sessions(valid_for=10)) == ["0", "1", "2", "3", "4"]


async def test_a_revoked_key_or_an_expired_session_ends_the_stream():
    assert await received(Sessions(valid_for=2)) == ["0", "1"]
