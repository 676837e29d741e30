"""``wfa secret set | list | delete | rotate | keygen`` as an operator runs them, and the keys.

On SQLite without WFA_SECRET_KEY the key is made once beside the database and reused; with
WFA_SECRET_KEY its first key seals and every key opens, and ``rotate`` moves every secret
onto the first. A bad key is one line naming the variable.
"""

from __future__ import annotations

import asyncio
import io
import stat

import pytest

from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.secrets.fernet import FernetCipher, generate_key, parse_keys
from wfa.application.errors import UnreadableSecret
from wfa.application.use_cases.secrets import ResolveSecrets
from wfa.entrypoints.cli import main

VALUE = "p4ss-w0rd-from-stdin"


@pytest.fixture
def migrated(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WFA_SECRET_KEY", raising=False)
    path = tmp_path / "data" / "wfa.db"
    monkeypatch.setenv("WFA_DATABASE_URL", f"sqlite:///{path}")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    return path


def key_file(database):
    return database.with_name("wfa.db.secret-key")


def read(url: str, keys: str, *names: str) -> dict[str, str]:
    async def resolve() -> dict[str, str]:
        database = Database(url)
        try:
            cipher = FernetCipher.from_text(keys)
            return await ResolveSecrets(database.unit_of_work, cipher).values(names)
        finally:
            await database.dispose()

    return asyncio.run(resolve())


def sqlite(database) -> str:
    return f"sqlite+aiosqlite:///{database}"


def test_set_list_delete(migrated, capsys, monkeypatch):
    assert main(["secret", "set", "API_TOKEN", "--value", "from-flag"]) == 0
    assert capsys.readouterr().out == "created secret API_TOKEN\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(VALUE + "\n"))
    assert main(["secret", "set", "API_TOKEN"]) == 0
    assert capsys.readouterr().out == "replaced secret API_TOKEN\n"
    key = key_file(migrated).read_text().strip()
    assert read(sqlite(migrated), key, "API_TOKEN") == {"API_TOKEN": VALUE}, "newline dropped"

    assert main(["secret", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.splitlines()[0].split() == ["NAME", "CREATED", "UPDATED"]
    assert "API_TOKEN" in listed
    assert VALUE not in listed
    files = b"".join(
        p.read_bytes() for p in migrated.parent.iterdir() if p.name != key_file(migrated).name
    )
    assert VALUE.encode() not in files, "the value is in no database file"

    assert main(["secret", "delete", "API_TOKEN"]) == 0
    assert capsys.readouterr().out == "deleted secret API_TOKEN\n"
    assert main(["secret", "delete", "API_TOKEN"]) == 1
    assert capsys.readouterr().err == "wfa: secret 'API_TOKEN' not found\n"
    assert main(["secret", "list"]) == 0
    assert "no secrets yet" in capsys.readouterr().out


def test_bad_names_are_usage_errors(migrated, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["secret", "set", "not-a-name", "--value", "v"])
    assert exited.value.code == 2
    assert "is not a valid secret name" in capsys.readouterr().err


def test_an_empty_value_is_refused_in_one_line(migrated, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["secret", "set", "EMPTY"]) == 1
    assert capsys.readouterr().err == "wfa: a secret's value must not be empty\n"


def test_the_key_file_is_made_once_beside_the_database_and_reused(migrated, capsys):
    path = key_file(migrated)
    assert not path.exists(), "made when a secret is first sealed, not before"
    assert main(["secret", "set", "A", "--value", "a-value"]) == 0
    assert "made a secret key for the embedded database" in capsys.readouterr().err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text()
    assert parse_keys(key)
    assert main(["secret", "set", "B", "--value", "b-value"]) == 0
    assert "made a secret key" not in capsys.readouterr().err
    assert path.read_text() == key
    assert read(sqlite(migrated), key, "A", "B") == {"A": "a-value", "B": "b-value"}


def test_rotate_moves_every_secret_onto_the_first_key(migrated, capsys, monkeypatch):
    assert main(["secret", "set", "A", "--value", "a-value"]) == 0
    assert main(["secret", "set", "B", "--value", "b-value"]) == 0
    old = key_file(migrated).read_text().strip()
    new = generate_key()
    capsys.readouterr()

    monkeypatch.setenv("WFA_SECRET_KEY", f"{new},{old}")
    assert main(["secret", "set", "C", "--value", "c-value"]) == 0  # sealed with the new key
    assert main(["secret", "rotate"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "sealed 3 secrets and the webhook secrets of 0 workflow versions again with the current key"
    )

    monkeypatch.setenv("WFA_SECRET_KEY", new)  # the old key is gone for good
    expected = {"A": "a-value", "B": "b-value", "C": "c-value"}
    assert read(sqlite(migrated), new, "A", "B", "C") == expected
    with pytest.raises(UnreadableSecret):
        read(sqlite(migrated), old, "A")
    assert main(["secret", "rotate"]) == 0


def test_rotate_without_the_old_key_changes_nothing_and_says_which(migrated, capsys, monkeypatch):
    assert main(["secret", "set", "A", "--value", "a-value"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("WFA_SECRET_KEY", generate_key())
    assert main(["secret", "rotate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wfa: secret 'A' cannot be read: none of the keys in WFA_SECRET_KEY")
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", [["secret", "list"], ["serve"], ["db", "upgrade"]])
def test_a_bad_key_stops_with_one_line_naming_the_variable(migrated, capsys, monkeypatch, command):
    monkeypatch.setenv("WFA_SECRET_KEY", "not a key!")
    assert main(command) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "wfa: WFA_SECRET_KEY: the key is not base64 (make one with 'wfa secret keygen')\n"
    )
    assert "not a key!" not in captured.err


def test_keygen_prints_a_key_the_variable_takes(capsys):
    assert main(["secret", "keygen"]) == 0
    key = capsys.readouterr().out.strip()
    assert parse_keys(key)
    assert key != generate_key()


def test_on_postgres_without_a_key_setting_is_refused_naming_the_variable(
    postgres_url, monkeypatch, capsys
):
    monkeypatch.delenv("WFA_SECRET_KEY", raising=False)
    monkeypatch.setenv("WFA_DATABASE_URL", postgres_url)
    assert main(["secret", "set", "A", "--value", "v"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wfa: WFA_SECRET_KEY is not set: with PostgreSQL every process")
    assert err.count("\n") == 1
