"""``wfa db upgrade`` seals the webhook secrets that earlier versions stored in plain text."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from tests.integration import test_cli_db
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.persistence.sqlalchemy.tables import webhook_routes, workflow_versions, workflows
from wfa.adapters.secrets.fernet import FernetCipher, generate_key
from wfa.application.webhook_secrets import SEALED, cipher_name
from wfa.entrypoints.cli import main
from wfa.entrypoints.cli_db import ensure_sqlite_folder
from wfa.entrypoints.config import database_url

postgres_env = test_cli_db.postgres_env
sqlite_env = test_cli_db.sqlite_env
PLAIN = {
    "name": "legacy",
    "triggers": [{"type": "webhook", "path": "legacy", "secret": "plain-s3cret"}],
    "steps": [{"id": "a", "type": "task", "action": "noop"}],
}


def store_plain_secret_at_0004() -> str:
    url = database_url(os.environ["WFA_DATABASE_URL"])
    ensure_sqlite_folder(url)
    migrate.upgrade(url, "0004")

    async def store() -> None:
        database = Database(url)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        async with database.engine.begin() as connection:
            await connection.execute(
                insert(workflows).values(
                    id="wf-legacy", name="legacy", latest_version=1, created_at=now
                )
            )
            await connection.execute(
                insert(workflow_versions).values(
                    workflow_id="wf-legacy", version=1, definition=PLAIN, created_at=now
                )
            )
            await connection.execute(
                insert(webhook_routes).values(path="legacy", workflow_id="wf-legacy")
            )
        await database.dispose()

    asyncio.run(store())
    return url


def stored_secret(url: str) -> str:
    async def read() -> str:
        database = Database(url)
        async with database.engine.connect() as connection:
            definition = await connection.scalar(select(workflow_versions.c.definition))
        await database.dispose()
        secret: str = definition["triggers"][0]["secret"]
        return secret

    return asyncio.run(read())


@pytest.mark.usefixtures("postgres_env")
def test_upgrade_without_a_key_on_postgresql_refuses_and_names_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("WFA_SECRET_KEY", raising=False)
    url = store_plain_secret_at_0004()
    assert main(["db", "upgrade"]) == 1
    assert "WFA_SECRET_KEY" in capsys.readouterr().err
    assert stored_secret(url) == "plain-s3cret", "nothing changed"

    key = generate_key()
    monkeypatch.setenv("WFA_SECRET_KEY", key)
    assert main(["db", "upgrade"]) == 0
    assert "sealed the webhook secrets of 1 workflow version" in capsys.readouterr().out
    sealed = stored_secret(url)
    assert sealed.startswith(SEALED)
    token = sealed.removeprefix(SEALED).encode()
    assert (
        FernetCipher.from_text(key).open(cipher_name("wf-legacy", "legacy"), token)
        == "plain-s3cret"
    )
    assert main(["db", "upgrade"]) == 0
    assert "sealed" not in capsys.readouterr().out, "sealed once"


@pytest.mark.usefixtures("sqlite_env")
def test_upgrade_of_an_embedded_database_seals_with_its_key_file(monkeypatch, capsys):
    monkeypatch.delenv("WFA_SECRET_KEY", raising=False)
    url = store_plain_secret_at_0004()
    assert main(["db", "upgrade"]) == 0
    assert "sealed the webhook secrets of 1 workflow version" in capsys.readouterr().out
    assert stored_secret(url).startswith(SEALED)
