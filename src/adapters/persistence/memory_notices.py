"""Notices in process memory, staged in the unit of work like all the memory adapter keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from wfa.adapters.persistence.memory_staging import current
from wfa.application.ports.repositories import StoredNotice
from wfa.domain.notices import Notice


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    notice: Notice
    due_at: datetime
    attempts: int = 0
    held_until: datetime | None = None
    done_at: datetime | None = None
    last_error: str | None = None


class MemoryNotices:
    def __init__(self, stored: dict[str, Outgoing], staged: dict[str, Outgoing | None]) -> None:
        self._stored, self.staged = stored, staged

    def _current(self) -> dict[str, Outgoing]:
        return current(self._stored, self.staged)

    async def add(self, found: Sequence[Notice], due_at: datetime) -> None:
        current = self._current()
        for notice in found:
            if notice.id not in current:
                self.staged[notice.id] = Outgoing(notice=notice, due_at=due_at)

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[StoredNotice]:
        due = sorted(
            (
                item
                for item in self._current().values()
                if item.done_at is None
                and item.due_at <= now
                and (item.held_until is None or item.held_until <= now)
            ),
            key=lambda item: item.due_at,
        )[:limit]
        for item in due:
            self.staged[item.notice.id] = msgspec.structs.replace(item, held_until=until)
        return [StoredNotice(notice=item.notice, attempts=item.attempts) for item in due]

    async def retry(self, notice_id: str, attempts: int, due_at: datetime, error: str) -> None:
        self._change(notice_id, attempts=attempts, due_at=due_at, held_until=None, last_error=error)

    async def done(self, notice_id: str, at: datetime, error: str | None = None) -> None:
        self._change(notice_id, done_at=at, held_until=None, last_error=error)

    def _change(self, notice_id: str, **changes: object) -> None:
        item = self._current().get(notice_id)
        if item is not None:
            self.staged[notice_id] = msgspec.structs.replace(item, **changes)

    async def prune(self, done_before: datetime, limit: int) -> int:
        old = [
            key
            for key, item in self._current().items()
            if item.done_at is not None and item.done_at < done_before
        ][:limit]
        for key in old:
            self.staged[key] = None
        return len(old)
