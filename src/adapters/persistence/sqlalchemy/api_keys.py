"""API keys in SQL: one row per key, found by the unique index on its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.tables import api_keys
from wfa.application.errors import DuplicateApiKey
from wfa.domain.api_keys import ApiKey, Scope


class SqlApiKeys:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, key: ApiKey) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(api_keys).values(**msgspec.structs.asdict(key)))
        except IntegrityError:  # its hash or its id: the table's only unique keys
            raise DuplicateApiKey(key.prefix) from None

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return await self._one(select(api_keys).where(api_keys.c.key_hash == key_hash))

    async def get(self, key_id: str) -> ApiKey | None:
        return await self._one(select(api_keys).where(api_keys.c.id == key_id))

    async def all(self) -> list[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
        return [_key(row._mapping) for row in await self._db.execute(query)]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        result = await self._db.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return bool(result.rowcount) or await self.get(key_id) is not None

    async def count_active(self) -> int:
        query = select(func.count()).select_from(api_keys).where(api_keys.c.revoked_at.is_(None))
        count: int = (await self._db.execute(query)).scalar_one()
        return count

    async def _one(self, query: Any) -> ApiKey | None:
        row = (await self._db.execute(query)).first()
        return None if row is None else _key(row._mapping)


def _key(row: Any) -> ApiKey:
    return ApiKey(**{**row, "scope": Scope(row["scope"])})
