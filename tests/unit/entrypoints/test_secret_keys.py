"""WFA_SECRET_KEY in the settings, and which cipher each setup gets."""

from __future__ import annotations

import logging

import pytest

from wfa.adapters.secrets.fernet import FernetCipher, generate_key
from wfa.application.errors import SecretKeyUnavailable
from wfa.entrypoints.config import ConfigError, load_settings
from wfa.entrypoints.secret_keys import key_file_for, make_cipher

POSTGRES = "postgresql+psycopg://wfa@db.example:5432/wfa"


def settings(**env: str):
    return load_settings({f"WFA_{k.upper()}": v for k, v in env.items()}, env_file=None)


def test_a_key_list_is_kept_as_given_and_blank_means_unset():
    one, two = generate_key(), generate_key()
    assert settings(secret_key=f" {one} , {two} ").secret_key == f"{one} , {two}"
    assert settings(secret_key="  ").secret_key is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short", "WFA_SECRET_KEY: the key is not base64"),
        ("c2hvcnQ=", "WFA_SECRET_KEY: the key is 5 bytes, not 32"),
        (",", "WFA_SECRET_KEY: is empty"),
    ],
)
def test_a_bad_key_names_the_variable_and_not_the_key(value, message):
    with pytest.raises(ConfigError) as refused:
        settings(secret_key=value)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_the_configured_keys_win_over_a_key_file(tmp_path):
    key = generate_key()
    cipher = make_cipher(settings(secret_key=key, database_url=f"sqlite:///{tmp_path / 'w.db'}"))
    assert FernetCipher.from_text(key).open("A", cipher.seal("A", "v")) == "v"
    assert list(tmp_path.iterdir()) == [], "no key file when WFA_SECRET_KEY is set"


def test_an_embedded_file_database_gets_a_key_file_an_in_memory_one_a_key_of_its_own(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    first = make_cipher(settings(database_url=url))
    second = make_cipher(settings(database_url=url))
    assert second.open("A", first.seal("A", "v")) == "v"
    assert key_file_for(settings(database_url=url).database_url) == tmp_path / "w.db.secret-key"
    memory = make_cipher(settings(database_url="sqlite:///:memory:"))
    assert memory.open("A", memory.seal("A", "v")) == "v"
    assert key_file_for("sqlite+aiosqlite:///:memory:") is None
    assert key_file_for(POSTGRES) is None


def test_postgres_without_a_key_starts_but_refuses_secrets(caplog):
    caplog.set_level(logging.WARNING)
    cipher = make_cipher(settings(database_url=POSTGRES))
    assert "secrets are disabled: WFA_SECRET_KEY is not set" in caplog.text
    with pytest.raises(SecretKeyUnavailable, match="every process needs the same key"):
        cipher.seal("A", "v")


def test_a_key_file_that_cannot_be_made_is_a_configuration_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'w.db'}"
    with pytest.raises(ConfigError, match="WFA_SECRET_KEY is not set and cannot create"):
        make_cipher(settings(database_url=url))
