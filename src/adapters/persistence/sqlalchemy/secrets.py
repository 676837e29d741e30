"""Secrets in SQL: one row per name holding the value's ciphertext, written by upsert."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from wfa.adapters.persistence.sqlalchemy.tables import secrets
from wfa.domain.secrets import StoredSecret


def _secret(row: Any) -> StoredSecret:
    values = dict(row._mapping)
    return StoredSecret(**values | {"ciphertext": bytes(values["ciphertext"])})


class SqlSecrets:
    def __init__(self, connection: AsyncConnection, dialect: str) -> None:
        self._db, self._dialect = connection, dialect

    async def get(self, name: str) -> StoredSecret | None:
        row = (await self._db.execute(select(secrets).where(secrets.c.name == name))).first()
        return None if row is None else _secret(row)

    async def many(self, names: Collection[str]) -> list[StoredSecret]:
        if not names:
            return []
        query = select(secrets).where(secrets.c.name.in_(sorted(set(names))))
        return [_secret(row) for row in await self._db.execute(query.order_by(secrets.c.name))]

    async def all(self) -> list[StoredSecret]:
        query = select(secrets).order_by(secrets.c.name)
        return [_secret(row) for row in await self._db.execute(query)]

    async def put(self, secret: StoredSecret) -> None:
        # One statement for create and replace: two writers of one new name cannot collide.
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = insert(secrets).values(
            name=secret.name,
            ciphertext=secret.ciphertext,
            created_at=secret.created_at,
            updated_at=secret.updated_at,
        )
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=[secrets.c.name],
                set_={
                    "ciphertext": statement.excluded.ciphertext,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )

    async def delete(self, name: str) -> bool:
        result = await self._db.execute(delete(secrets).where(secrets.c.name == name))
        return bool(result.rowcount)
