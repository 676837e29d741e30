"""A run's stream ends when whoever opened it may no longer read it (a revoked key, an
expired console session), and goes on while they may."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar.response import ServerSentEventMessage

from wfa.entrypoints.http import streaming


class Check:
    def __init__(self, passes: int) -> None:
        self.passes = passes  # how many checks say yes
        self.asked = 0

    async def __call__(self) -> bool:
        self.asked += 1
        return self.asked <= self.passes


async def messages(count: int) -> AsyncIterator[ServerSentEventMessage]:
    for n in range(count):
        yield ServerSentEventMessage(data=str(n))


async def received(check: Check) -> list[Any]:
    return [message.data async for message in streaming.while_allowed(messages(5), check)]


async def test_a_stream_goes_on_while_its_reader_may_read_it(monkeypatch):
    monkeypatch.setattr(streaming, "RECHECK_SECONDS", 0.0)
    assert await received(Check(passes=10)) == ["0", "1", "2", "3", "4"]


async def test_a_revoked_key_or_an_ended_session_ends_the_stream(monkeypatch):
    monkeypatch.setattr(streaming, "RECHECK_SECONDS", 0.0)
    assert await received(Check(passes=2)) == ["0", "1"]


async def test_between_checks_nothing_is_asked(monkeypatch):
    monkeypatch.setattr(streaming, "RECHECK_SECONDS", 3600.0)
    check = Check(passes=0)
    assert await received(check) == ["0", "1", "2", "3", "4"]
    assert check.asked == 0
