"""The embedded database and its WAL and shared-memory files are readable by their owner only."""

from __future__ import annotations

import logging
import os
import stat

import pytest
from sqlalchemy import text

from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.persistence.sqlalchemy.sqlite_file import make_private, sqlite_file
from wfa.entrypoints.cli import main


@pytest.fixture(autouse=True)
def usual_umask():
    """0022, the usual one, under which SQLite alone makes its files 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_wfa_db_upgrade_creates_a_private_database_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "data" / "wfa.db"
    monkeypatch.setenv("WFA_DATABASE_URL", f"sqlite:///{database}")
    assert main(["db", "upgrade"]) == 0
    assert mode(database) == 0o600
    companions = [p for p in database.parent.iterdir() if p.name.startswith("wfa.db-")]
    assert all(mode(p) == 0o600 for p in companions)


def test_migrations_create_a_private_database_file(tmp_path):
    database = tmp_path / "wfa.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{database}")
    assert mode(database) == 0o600


async def test_the_wal_and_shared_memory_files_are_private_too(tmp_path):
    path = tmp_path / "wfa.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            wal, shm = tmp_path / "wfa.db-wal", tmp_path / "wfa.db-shm"
            assert wal.exists(), "WAL mode keeps it while a write is open"
            assert shm.exists(), "WAL mode keeps it while a write is open"
            assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        await database.dispose()


def test_an_existing_database_readable_by_others_is_narrowed_with_a_warning(tmp_path, caplog):
    path = tmp_path / "wfa.db"
    path.touch()
    path.chmod(0o644)
    (tmp_path / "wfa.db-wal").touch()
    (tmp_path / "wfa.db-wal").chmod(0o664)
    with caplog.at_level(logging.WARNING, logger="wfa.database"):
        make_private(f"sqlite:///{path}")
    assert mode(path) == 0o600
    assert mode(tmp_path / "wfa.db-wal") == 0o600
    assert [r.getMessage() for r in caplog.records] == [
        f"the database file {path} was readable by others (mode 644): made it 0600",
        f"the database file {tmp_path / 'wfa.db-wal'} was readable by others (mode 664): "
        "made it 0600",
    ]


def test_a_private_file_is_left_as_it_is_and_nothing_is_said(tmp_path, caplog):
    path = tmp_path / "wfa.db"
    path.touch(mode=0o600)
    path.chmod(0o400)  # read-only for its owner: still private, not ours to change
    with caplog.at_level(logging.WARNING, logger="wfa.database"):
        make_private(f"sqlite:///{path}")
    assert mode(path) == 0o400
    assert caplog.records == []


def test_only_plain_sqlite_files_are_looked_after(tmp_path):
    assert sqlite_file("postgresql+psycopg://u@h/db") is None
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite+aiosqlite://") is None
    assert sqlite_file("sqlite:///file:x?mode=memory&uri=true") is None
    make_private(f"sqlite:///{tmp_path / 'missing' / 'wfa.db'}")  # SQLite will say so
    assert not (tmp_path / "missing").exists()
