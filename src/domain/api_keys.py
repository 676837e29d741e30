"""API keys: who may use the HTTP API. Only a key's hash is ever kept, never the key.

A key is a random token with 256 bits of entropy, so a plain SHA-256 is enough to keep it:
a slow password hash (bcrypt, argon2) defends guessable secrets against brute force, and a
256-bit random token cannot be guessed. A fast hash also lets every request be checked by
one indexed lookup.

A key has a scope, and scopes are ranked: ``viewer`` reads workflows and runs, ``operator``
also changes them (and may set or delete a secret, never read the list), ``admin`` may do
everything, managing keys and listing secrets included. Every route names the least scope
it needs, so "may this key do that" is one comparison of ranks.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

import msgspec

KEY_PREFIX = "wfa_"
SHOWN_PREFIX_LENGTH = 8


class Scope(StrEnum):
    """What a key may do; each scope may do all that the ones below it may."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def covers(self, needed: Scope) -> bool:
        """True when a key of this scope may use a route that needs ``needed``."""
        return _RANK[self] >= _RANK[needed]


_RANK = {Scope.VIEWER: 0, Scope.OPERATOR: 1, Scope.ADMIN: 2}


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A stored key: its hash, and a short prefix that lets people tell keys apart."""

    id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    # Keys made before scopes existed could do everything, and still may.
    scope: Scope = Scope.ADMIN

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(plaintext: str) -> str:
    """The hex SHA-256 of a key as presented."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def shown_prefix(plaintext: str) -> str:
    """The first characters of a key, for lists; never more than half of a short key."""
    return plaintext[: min(SHOWN_PREFIX_LENGTH, len(plaintext) // 2)]


def issue_key(
    key_id: str, name: str, plaintext: str, at: datetime, scope: Scope = Scope.ADMIN
) -> ApiKey:
    """The stored form of ``plaintext``: everything but the key itself."""
    return ApiKey(
        id=key_id,
        name=name,
        prefix=shown_prefix(plaintext),
        key_hash=hash_key(plaintext),
        created_at=at,
        scope=scope,
    )


def revoke_key(key: ApiKey, at: datetime) -> ApiKey:
    """The key revoked at ``at``; a key already revoked keeps its first revocation time."""
    return key if key.revoked_at is not None else msgspec.structs.replace(key, revoked_at=at)
