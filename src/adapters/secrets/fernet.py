"""Secrets sealed with Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``).

WFA_SECRET_KEY lists one key or several, comma-separated: the first seals, every one opens
(``MultiFernet``), so a new key can be put first while secrets sealed under the old one are
still read, and ``wfa secret rotate`` seals them all again under the new one.

A key is 32 random bytes in base64 (URL-safe or standard, as ``wfa secret keygen`` or
``openssl rand -base64 32`` print them). The plaintext sealed is ``name NUL value``: a
ciphertext moved under another name does not open.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from wfa.application.errors import SecretKeyUnavailable, UnreadableSecret

KEY_BYTES = 32
_SEPARATOR = b"\x00"


class InvalidSecretKey(ValueError):
    """A key list that cannot be used; the message never repeats a key."""


def generate_key() -> str:
    """A new random key, as WFA_SECRET_KEY takes it."""
    return Fernet.generate_key().decode()


def parse_keys(text: str) -> list[bytes]:
    """The Fernet keys in a comma-separated list, first key first."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise InvalidSecretKey("is empty")
    keys = []
    for position, part in enumerate(parts, start=1):
        where = f"key {position} of {len(parts)}" if len(parts) > 1 else "the key"
        if not part:
            raise InvalidSecretKey(f"{where} is empty (a stray comma?)")
        keys.append(_fernet_key(part, where))
    return keys


def _fernet_key(text: str, where: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecretKey(
            f"{where} is not base64 (make one with 'wfa secret keygen')"
        ) from None
    if len(raw) != KEY_BYTES:
        raise InvalidSecretKey(
            f"{where} is {len(raw)} bytes, not {KEY_BYTES} (make one with 'wfa secret keygen')"
        )
    return base64.urlsafe_b64encode(raw)


class FernetCipher:
    """Implements SecretCipher with the keys given, the first one sealing."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise InvalidSecretKey("no key given")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_text(cls, text: str) -> FernetCipher:
        return cls(parse_keys(text))

    def seal(self, name: str, value: str) -> bytes:
        return self._fernet.encrypt(name.encode() + _SEPARATOR + value.encode())

    def open(self, name: str, ciphertext: bytes) -> str:
        try:
            plaintext = self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise UnreadableSecret(
                name, "none of the keys in WFA_SECRET_KEY (or the key file) decrypts it"
            ) from None
        sealed_name, _, value = plaintext.partition(_SEPARATOR)
        if sealed_name != name.encode():
            raise UnreadableSecret(name, "its ciphertext was sealed under another name")
        return value.decode()

    def reseal(self, name: str, ciphertext: bytes) -> bytes:
        self.open(name, ciphertext)  # checks that it opens, and under this name
        return self._fernet.rotate(ciphertext)


class UnavailableCipher:
    """Stands in when no key is configured: every use says how to configure one."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def seal(self, name: str, value: str) -> bytes:
        raise SecretKeyUnavailable(self._reason)

    def open(self, name: str, ciphertext: bytes) -> str:
        raise SecretKeyUnavailable(self._reason)

    def reseal(self, name: str, ciphertext: bytes) -> bytes:
        raise SecretKeyUnavailable(self._reason)
