"""The secret repository's contract on every adapter, and what SQL really stores.

The contract runs on memory, SQLite and PostgreSQL (``uow_factory``); the storage cases read
the ``secrets`` table directly, beneath the repository, on both SQL databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from wfa.adapters.clock import FakeClock
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.persistence.sqlalchemy.tables import secrets
from wfa.adapters.secrets.fernet import FernetCipher, generate_key
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.use_cases.secrets import ResolveSecrets, RotateSecrets, SetSecret
from wfa.domain.secrets import StoredSecret

T0 = datetime(2030, 1, 1, tzinfo=UTC)
VALUE = "correct horse battery staple"


def secret(name: str, ciphertext: bytes = b"sealed", minutes: int = 0) -> StoredSecret:
    at = T0 + timedelta(minutes=minutes)
    return StoredSecret(name=name, ciphertext=ciphertext, created_at=at, updated_at=at)


async def put(uow_factory: UnitOfWorkFactory, *stored: StoredSecret) -> None:
    async with uow_factory() as uow:
        for one in stored:
            await uow.secrets.put(one)
        await uow.commit()


async def test_put_get_many_all_and_delete(uow_factory):
    await put(uow_factory, secret("b", b"\x00\xffb"), secret("A"), secret("a"))
    async with uow_factory() as uow:
        assert await uow.secrets.get("b") == secret("b", b"\x00\xffb")
        assert await uow.secrets.get("B") is None, "names are case-sensitive"
        assert [s.name for s in await uow.secrets.many(["b", "a", "zz", "a"])] == ["a", "b"]
        assert await uow.secrets.many([]) == []
        assert [s.name for s in await uow.secrets.all()] == ["A", "a", "b"]
        assert await uow.secrets.delete("a")
        assert not await uow.secrets.delete("a")
        assert not await uow.secrets.delete("nothing")
        await uow.commit()
    async with uow_factory() as uow:
        assert [s.name for s in await uow.secrets.all()] == ["A", "b"]


async def test_put_replaces_the_ciphertext_and_keeps_the_creation_time(uow_factory):
    await put(uow_factory, secret("TOKEN", b"one"))
    await put(uow_factory, secret("TOKEN", b"two", minutes=5))
    async with uow_factory() as uow:
        stored = await uow.secrets.get("TOKEN")
    assert stored == StoredSecret(
        name="TOKEN", ciphertext=b"two", created_at=T0, updated_at=T0 + timedelta(minutes=5)
    )


async def test_nothing_is_kept_without_commit(uow_factory):
    async with uow_factory() as uow:
        await uow.secrets.put(secret("TOKEN"))
        assert await uow.secrets.get("TOKEN") is not None, "seen inside its own transaction"
    async with uow_factory() as uow:
        assert await uow.secrets.get("TOKEN") is None


@pytest.fixture(params=["sqlite", "postgres"])
def sql_database(request: pytest.FixtureRequest) -> Database:
    database: Database = request.getfixturevalue(f"{request.param}_database")
    return database


async def stored_rows(database: Database) -> dict[str, bytes]:
    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(secrets.c.name, secrets.c.ciphertext))).all()
    return {row.name: bytes(row.ciphertext) for row in rows}


async def test_the_table_holds_ciphertext_never_the_value(sql_database):
    cipher = FernetCipher.from_text(generate_key())
    await SetSecret(sql_database.unit_of_work, cipher, FakeClock()).execute("TOKEN", VALUE)
    rows = await stored_rows(sql_database)
    assert list(rows) == ["TOKEN"]
    assert VALUE.encode() not in rows["TOKEN"]
    assert rows["TOKEN"] != VALUE.encode()
    assert cipher.open("TOKEN", rows["TOKEN"]) == VALUE
    resolve = ResolveSecrets(sql_database.unit_of_work, cipher)
    assert await resolve.values(["TOKEN"]) == {"TOKEN": VALUE}


async def test_rotation_rewrites_every_row_under_the_new_key(sql_database):
    old, new = generate_key(), generate_key()
    put_old = SetSecret(sql_database.unit_of_work, FernetCipher.from_text(old), FakeClock())
    await put_old.execute("A", "a-value")
    await put_old.execute("B", "b-value")
    before = await stored_rows(sql_database)
    rotate = RotateSecrets(sql_database.unit_of_work, FernetCipher.from_text(f"{new},{old}"))
    assert (await rotate.execute()).secrets == 2
    after = await stored_rows(sql_database)
    assert set(after) == {"A", "B"}
    assert all(after[name] != before[name] for name in after)
    resolve = ResolveSecrets(sql_database.unit_of_work, FernetCipher.from_text(new))
    assert await resolve.values(["A", "B"]) == {"A": "a-value", "B": "b-value"}
