"""Published events in process memory, staged in the unit of work like all the memory adapter
keeps; a claim is a time until which no other handler takes the event."""

from __future__ import annotations

from datetime import datetime

import msgspec

from wfa.adapters.persistence.memory_staging import current
from wfa.application.ports.repositories import PublishedEvent


class Held(msgspec.Struct, frozen=True, kw_only=True):
    event: PublishedEvent
    claimed_until: datetime | None = None


class MemoryPublishedEvents:
    def __init__(self, stored: dict[str, Held], staged: dict[str, Held | None]) -> None:
        self._stored, self.staged = stored, staged

    def _current(self) -> dict[str, Held]:
        return current(self._stored, self.staged)

    async def add(self, event: PublishedEvent) -> bool:
        if event.id in self._current():
            return False
        self.staged[event.id] = Held(event=event)
        return True

    async def get(self, event_id: str) -> PublishedEvent | None:
        held = self._current().get(event_id)
        return None if held is None else held.event

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[PublishedEvent]:
        free = [
            held
            for held in self._current().values()
            if held.event.handled_at is None
            and (held.claimed_until is None or held.claimed_until <= now)
        ]
        free.sort(key=lambda held: held.event.received_at)
        for held in free[:limit]:
            self.staged[held.event.id] = msgspec.structs.replace(held, claimed_until=until)
        return [held.event for held in free[:limit]]

    async def handled(self, event_id: str, at: datetime) -> None:
        held = self._current().get(event_id)
        if held is not None:
            event = msgspec.structs.replace(held.event, handled_at=at)
            self.staged[event_id] = msgspec.structs.replace(held, event=event)

    async def prune(self, handled_before: datetime, limit: int) -> int:
        old = [
            key
            for key, held in self._current().items()
            if held.event.handled_at is not None and held.event.handled_at < handled_before
        ][:limit]
        for key in old:
            self.staged[key] = None
        return len(old)
