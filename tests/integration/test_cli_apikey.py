"""``wfa apikey create | list | revoke`` on a SQLite database, as an operator runs them."""

from __future__ import annotations

import asyncio
import re

import pytest

from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.application.use_cases.api_keys import AuthenticateApiKey
from wfa.entrypoints.cli import main

KEY = re.compile(r"^wfa_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def database_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data" / "wfa.db"
    monkeypatch.setenv("WFA_DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated(database_file, capsys):
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    return database_file


def authenticate(path, plaintext: str):
    async def check():
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            return await AuthenticateApiKey(database.unit_of_work).execute(plaintext)
        finally:
            await database.dispose()

    return asyncio.run(check())


def create(capsys, name: str, *options: str) -> tuple[str, str]:
    """The new key (stdout) and what was said about it (stderr)."""
    assert main(["apikey", "create", name, *options]) == 0
    captured = capsys.readouterr()
    return captured.out.strip(), captured.err


def test_create_prints_the_key_once_and_stores_only_its_hash(migrated, capsys):
    plaintext, said = create(capsys, "ci")
    assert KEY.match(plaintext), "stdout is the key alone, for KEY=$(wfa apikey create ci)"
    assert "will not be shown again" in said
    key = authenticate(migrated, plaintext)
    assert key is not None
    assert key.name == "ci"
    stored = b"".join(
        path.read_bytes() for path in migrated.parent.iterdir() if path.name.startswith("wfa.db")
    )
    assert plaintext.encode() not in stored, "the key is in no database file"
    assert key.key_hash.encode() in stored

    assert main(["apikey", "list"]) == 0
    listed = capsys.readouterr().out
    assert plaintext not in listed
    assert key.id in listed
    assert plaintext[:8] in listed


def test_list_shows_every_key_newest_first_and_which_are_revoked(migrated, capsys):
    assert main(["apikey", "list"]) == 0
    assert "no API keys yet" in capsys.readouterr().out
    first, _ = create(capsys, "first")
    create(capsys, "second")
    first_id = authenticate(migrated, first).id
    assert main(["apikey", "revoke", first_id]) == 0
    assert f"revoked API key {first_id} (first, " in capsys.readouterr().out
    assert authenticate(migrated, first) is None

    assert main(["apikey", "list"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "NAME", "SCOPE", "PREFIX", "CREATED", "REVOKED"]
    assert [row.split()[1] for row in rows] == ["second", "first"]
    assert [row.split()[2] for row in rows] == ["operator", "operator"]
    assert rows[0].endswith("-"), "the active key has no revocation time"
    assert rows[1].endswith("UTC")


def test_revoking_an_unknown_key_is_one_line_and_exit_1(migrated, capsys):
    assert main(["apikey", "revoke", "no-such-key"]) == 1
    err = capsys.readouterr().err
    assert err == "wfa: api key 'no-such-key' not found\n"


def test_apikey_before_upgrade_says_what_to_do(database_file, capsys):
    for argv in (["apikey", "list"], ["apikey", "create", "ci"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "has no schema yet: run 'wfa db upgrade' first" in err
    assert not database_file.exists(), "no database is created by asking about keys"


def test_a_blank_name_is_a_usage_error(migrated, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["apikey", "create", "  "])
    assert exit_.value.code == 2
    assert "a key name has 1 to 200 characters" in capsys.readouterr().err


def test_a_new_key_is_operator_unless_a_scope_is_asked_for(migrated, capsys):
    plain, said = create(capsys, "ci")
    assert authenticate(migrated, plain).scope == "operator"
    assert "created operator API key" in said
    for scope in ("admin", "operator", "viewer"):
        plain, said = create(capsys, scope, "--scope", scope)
        assert authenticate(migrated, plain).scope == scope
        assert f"created {scope} API key" in said
    assert main(["apikey", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [(row.split()[1], row.split()[2]) for row in rows[:3]] == [
        ("viewer", "viewer"),
        ("operator", "operator"),
        ("admin", "admin"),
    ]


def test_an_unknown_scope_is_a_usage_error(migrated, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["apikey", "create", "ci", "--scope", "root"])
    assert exit_.value.code == 2
    assert "invalid choice: 'root'" in capsys.readouterr().err
