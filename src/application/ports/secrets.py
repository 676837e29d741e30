"""Encryption of secret values at rest. Which algorithm and which keys is the adapter's concern."""

from __future__ import annotations

from typing import Protocol


class SecretCipher(Protocol):
    """Seals a secret's value under its name, and opens it again.

    The name is sealed with the value, so a ciphertext copied to another name does not open.
    Every method raises SecretKeyUnavailable when no key is configured; ``open`` and
    ``reseal`` raise UnreadableSecret when no configured key opens the ciphertext.
    """

    def seal(self, name: str, value: str) -> bytes:
        """The value encrypted with the current (first) key."""
        ...

    def open(self, name: str, ciphertext: bytes) -> str:
        """The value, decrypted with whichever configured key sealed it."""
        ...

    def reseal(self, name: str, ciphertext: bytes) -> bytes:
        """The same value sealed again with the current key (key rotation)."""
        ...
