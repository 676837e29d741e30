"""API keys in process memory, staged in the unit of work like everything else there.

A hash names one key, as the unique index on ``api_keys.key_hash`` makes it on SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from wfa.application.errors import DuplicateApiKey
from wfa.domain.api_keys import ApiKey, revoke_key


class MemoryApiKeys:
    def __init__(self, stored: dict[str, ApiKey], staged: dict[str, ApiKey]) -> None:
        self._stored, self.staged = stored, staged

    def _keys(self) -> dict[str, ApiKey]:
        return self._stored | self.staged

    async def add(self, key: ApiKey) -> None:
        if key.id in self._keys():
            raise DuplicateApiKey(key.prefix)
        check_new_keys(self._keys(), {key.id: key})
        self.staged[key.id] = key

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self._keys().values() if k.key_hash == key_hash), None)

    async def get(self, key_id: str) -> ApiKey | None:
        return self._keys().get(key_id)

    async def all(self) -> list[ApiKey]:
        return sorted(self._keys().values(), key=lambda k: (k.created_at, k.id), reverse=True)

    async def revoke(self, key_id: str, at: datetime) -> bool:
        key = self._keys().get(key_id)
        if key is None:
            return False
        self.staged[key_id] = revoke_key(key, at)
        return True

    async def count_active(self) -> int:
        return sum(1 for key in self._keys().values() if key.active)


def check_new_keys(stored: Mapping[str, ApiKey], staged: Mapping[str, ApiKey]) -> None:
    """Raise DuplicateApiKey if a staged key's hash belongs to another stored key."""
    owners = {key.key_hash: key.id for key in stored.values()}
    for key in staged.values():
        if owners.get(key.key_hash, key.id) != key.id:
            raise DuplicateApiKey(key.prefix)
