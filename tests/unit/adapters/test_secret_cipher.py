"""Fernet sealing of secrets, key lists and rotation, and the embedded database's key file."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from wfa.adapters.secrets.fernet import (
    FernetCipher,
    InvalidSecretKey,
    UnavailableCipher,
    generate_key,
    parse_keys,
)
from wfa.adapters.secrets.key_file import (
    KeyFileError,
    is_private,
    key_file_beside,
    load_or_create_key,
)
from wfa.application.errors import SecretKeyUnavailable, UnreadableSecret

OLD, NEW = generate_key(), generate_key()


def test_a_sealed_value_is_not_in_its_ciphertext_and_opens_again():
    cipher = FernetCipher.from_text(OLD)
    sealed = cipher.seal("TOKEN", "hunter2")
    assert b"hunter2" not in sealed
    assert base64.urlsafe_b64encode(b"hunter2") not in sealed
    assert cipher.seal("TOKEN", "hunter2") != sealed, "every seal is fresh (random IV)"
    assert cipher.open("TOKEN", sealed) == "hunter2"


def test_values_keep_any_text_including_nul_and_non_ascii():
    cipher = FernetCipher.from_text(OLD)
    value = "a\x00b é ✓ \n"
    assert cipher.open("X", cipher.seal("X", value)) == value


def test_a_ciphertext_moved_to_another_name_does_not_open():
    cipher = FernetCipher.from_text(OLD)
    with pytest.raises(UnreadableSecret, match="sealed under another name"):
        cipher.open("OTHER", cipher.seal("TOKEN", "v"))


def test_another_key_cannot_open_it():
    sealed = FernetCipher.from_text(OLD).seal("TOKEN", "v")
    with pytest.raises(UnreadableSecret, match="secret 'TOKEN' cannot be read"):
        FernetCipher.from_text(NEW).open("TOKEN", sealed)


def test_rotation_new_key_first_old_keys_still_open_and_reseal_moves_to_the_new_key():
    before = FernetCipher.from_text(OLD).seal("TOKEN", "v")
    rotating = FernetCipher.from_text(f"{NEW}, {OLD}")
    assert rotating.open("TOKEN", before) == "v"
    after = rotating.reseal("TOKEN", before)
    assert after != before
    only_new = FernetCipher.from_text(NEW)
    assert only_new.open("TOKEN", after) == "v"
    with pytest.raises(UnreadableSecret):
        only_new.open("TOKEN", before)
    assert FernetCipher.from_text(NEW).open("TOKEN", rotating.seal("TOKEN", "w")) == "w"


def test_keys_may_be_standard_base64_or_unpadded():
    raw = os.urandom(32)
    standard = base64.b64encode(raw).decode()
    unpadded = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert parse_keys(f"{standard},{unpadded}") == [base64.urlsafe_b64encode(raw)] * 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" , ", "is empty"),
        (f"{OLD},", "key 2 of 2 is empty"),
        ("not base64 at all!", "the key is not base64"),
        (base64.b64encode(b"short").decode(), "the key is 5 bytes, not 32"),
        (f"{OLD},{base64.b64encode(os.urandom(16)).decode()}", "key 2 of 2 is 16 bytes"),
    ],
)
def test_bad_keys_are_refused_without_repeating_them(text, message):
    with pytest.raises(InvalidSecretKey, match=message) as refused:
        parse_keys(text)
    for part in text.split(","):
        if part.strip():
            assert part.strip() not in str(refused.value)


def test_without_a_key_every_use_says_how_to_get_one():
    cipher = UnavailableCipher("WFA_SECRET_KEY is not set")
    for use in (
        lambda: cipher.seal("A", "v"),
        lambda: cipher.open("A", b"x"),
        lambda: cipher.reseal("A", b"x"),
    ):
        with pytest.raises(SecretKeyUnavailable, match="WFA_SECRET_KEY is not set"):
            use()


def test_the_key_file_is_made_once_private_and_read_again(tmp_path):
    path = key_file_beside(tmp_path / "wfa.db")
    assert path.name == "wfa.db.secret-key"
    key, created = load_or_create_key(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert is_private(path)
    assert parse_keys(key)
    again, created_again = load_or_create_key(path)
    assert (again, created_again) == (key, False)
    assert [p.name for p in tmp_path.iterdir()] == ["wfa.db.secret-key"], "no draft left"


def test_a_key_file_another_process_made_first_is_the_key(tmp_path, monkeypatch):
    path = tmp_path / "wfa.db.secret-key"
    theirs = generate_key()
    real_link = os.link

    def racing_link(source, target):
        path.write_text(theirs + "\n")  # the other process links its key in first
        real_link(source, target)

    monkeypatch.setattr(os, "link", racing_link)
    assert load_or_create_key(path) == (theirs, False)


def test_a_damaged_key_file_stops_with_its_path(tmp_path):
    path = tmp_path / "wfa.db.secret-key"
    path.write_text("garbage\n")
    with pytest.raises(KeyFileError, match=r"wfa\.db\.secret-key holds no usable key"):
        load_or_create_key(path)


def test_a_key_file_that_cannot_be_made_says_where(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "wfa.db.secret-key"
    with pytest.raises(KeyFileError, match="cannot create the secret key file"):
        load_or_create_key(missing)
