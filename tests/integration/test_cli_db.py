"""``wfa db upgrade | seed | prune`` against SQLite and PostgreSQL, as an operator runs them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import service_url
from tests.databases import with_search_path
from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.clock import SystemClock, SystemEntropy
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.application.use_cases.workflows import RegisterWorkflow
from wfa.entrypoints.cli import main

SEEDS = Path(__file__).parents[2] / "src" / "entrypoints" / "seeds"


@pytest.fixture
def sqlite_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WFA_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'wfa.db'}")
    return tmp_path


@pytest.fixture
def postgres_env(monkeypatch):
    base = service_url("WFA_TEST_DATABASE_URL")
    schema = f"wfa_cli_{uuid.uuid4().hex[:10]}"

    async def run(statement: str) -> None:
        database = Database(base)
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))
        await database.dispose()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("WFA_DATABASE_URL", with_search_path(base, schema))
    yield schema
    asyncio.run(run(f'DROP SCHEMA "{schema}" CASCADE'))


def test_upgrade_creates_the_schema_once_and_seed_adds_examples_once(sqlite_env, capsys):
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"upgraded from an empty database to revision {migrate.head()}" in out
    assert (sqlite_env / "data" / "wfa.db").exists(), "the database folder is created"
    assert main(["db", "upgrade"]) == 0
    assert f"already at revision {migrate.head()}: nothing to do" in capsys.readouterr().out

    assert main(["db", "seed"]) == 0
    first = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in first] == [
        "charge-card",
        "hello-world",
        "nightly-cleanup",
        "notify-customers",
        "order-checks",
        "order-created",
        "order-payment",
        "payment-receipt",
        "refund-approval",
        "repo-stars",
    ]
    assert all(line.endswith("added") for line in first)
    assert main(["db", "seed"]) == 0
    again = capsys.readouterr().out.splitlines()
    assert all(line.endswith("already there") for line in again)
    assert [line.split()[1] for line in again] == [line.split()[1] for line in first]


def test_seed_before_upgrade_says_what_to_do(sqlite_env, capsys):
    assert main(["db", "seed"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "has no schema yet: run 'wfa db upgrade' first" in err


def test_prune_follows_the_retention_settings(sqlite_env, capsys, monkeypatch):
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "prune"]) == 0
    assert "no retention set" in capsys.readouterr().out
    monkeypatch.setenv("WFA_RETENTION_MAX_AGE", "30d")
    assert main(["db", "prune"]) == 0
    assert "pruned 0 finished runs" in capsys.readouterr().out
    assert main(["db", "prune", "--max-age", "soon"]) == 2
    assert "--max-age: 'soon' is not a duration" in capsys.readouterr().err


def test_an_unreachable_database_is_one_line_and_exit_1(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WFA_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wfa: cannot reach the database at postgresql+psycopg://nobody@")
    assert err.count("\n") == 1


def test_upgrade_and_seed_on_postgres(postgres_env, capsys):
    assert main(["db", "upgrade"]) == 0
    assert f"to revision {migrate.head()}" in capsys.readouterr().out
    assert main(["db", "seed"]) == 0
    assert main(["db", "seed"]) == 0
    lines = capsys.readouterr().out.splitlines()
    examples = len(list(SEEDS.glob("*.yaml")))
    assert sum(line.endswith("added") for line in lines) == examples
    assert sum(line.endswith("already there") for line in lines) == examples


def test_seed_skips_an_example_whose_webhook_path_is_taken(sqlite_env, capsys):
    assert main(["db", "upgrade"]) == 0
    url = f"sqlite+aiosqlite:///{sqlite_env / 'data' / 'wfa.db'}"

    async def take_orders_path() -> str:
        database = Database(url)
        register = RegisterWorkflow(
            database.unit_of_work, default_registry(), SystemClock(), SystemEntropy()
        )
        mine = {
            "name": "mine",
            "trigger": {"type": "webhook", "path": "orders"},
            "steps": [{"id": "a", "type": "succeed"}],
        }
        try:
            return (await register.execute(mine)).id
        finally:
            await database.dispose()

    owner = asyncio.run(take_orders_path())
    capsys.readouterr()
    assert main(["db", "seed"]) == 0
    lines = capsys.readouterr().out.splitlines()
    skipped = [line for line in lines if "skipped" in line]
    assert len(skipped) == 1
    assert skipped[0].startswith("order-created")
    assert f"webhook path 'orders' is already used by workflow {owner}" in skipped[0]
    assert sum(line.endswith("added") for line in lines) == len(list(SEEDS.glob("*.yaml"))) - 1
