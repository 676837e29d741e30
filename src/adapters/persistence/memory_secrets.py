"""Secrets in process memory, staged in the unit of work like all the memory adapter keeps."""

from __future__ import annotations

from collections.abc import Collection

import msgspec

from wfa.adapters.persistence.memory_staging import current
from wfa.domain.secrets import StoredSecret


class MemorySecrets:
    def __init__(
        self, stored: dict[str, StoredSecret], staged: dict[str, StoredSecret | None]
    ) -> None:
        self._stored, self.staged = stored, staged

    def _current(self) -> dict[str, StoredSecret]:
        return current(self._stored, self.staged)

    async def get(self, name: str) -> StoredSecret | None:
        return self._current().get(name)

    async def many(self, names: Collection[str]) -> list[StoredSecret]:
        current = self._current()
        return [current[name] for name in sorted(set(names)) if name in current]

    async def all(self) -> list[StoredSecret]:
        return sorted(self._current().values(), key=lambda secret: secret.name)

    async def put(self, secret: StoredSecret) -> None:
        existing = self._current().get(secret.name)
        if existing is not None:
            secret = msgspec.structs.replace(secret, created_at=existing.created_at)
        self.staged[secret.name] = secret

    async def delete(self, name: str) -> bool:
        if name not in self._current():
            return False
        self.staged[name] = None
        return True
