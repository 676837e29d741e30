"""Create, list, revoke and check API keys, and make sure the API can be reached at all.

The plaintext of a new key leaves here once, to be shown to whoever asked for it; what is
stored is its hash and a short prefix (see ``domain.api_keys``).
"""

from __future__ import annotations

from wfa.application.errors import DuplicateApiKey, NotFound
from wfa.application.payloads import check_storable
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.domain.api_keys import KEY_PREFIX, ApiKey, Scope, hash_key, issue_key

BOOTSTRAP_NAME = "bootstrap"
ADMIN_NAME = "admin"
# The id of the first admin key ever made: processes starting together on an empty database
# all try to store it, and the store keeps one.
FIRST_ADMIN_ID = "first-admin"


# A new key can start runs and change workflows, the common need (CI applying definitions);
# reading only or managing keys is asked for by name.
DEFAULT_SCOPE = Scope.OPERATOR


class CreateApiKey:
    """A new key under a name of the caller's choosing, with the scope asked for."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, entropy: Entropy) -> None:
        self._uow, self._clock, self._entropy = uow, clock, entropy

    async def execute(self, name: str, scope: Scope = DEFAULT_SCOPE) -> tuple[ApiKey, str]:
        """The stored key and its plaintext, which nothing can show again; UnstorableText
        for a name holding NUL (PostgreSQL refuses it in text)."""
        check_storable(name, "the key's name")
        plaintext = KEY_PREFIX + self._entropy.token()
        key = issue_key(self._entropy.new_id(), name, plaintext, self._clock.now(), scope)
        async with self._uow() as uow:
            await uow.api_keys.add(key)
            await uow.commit()
        return key, plaintext


class RevokeApiKey:
    """Revoke a key for good; revoking it again changes nothing."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def execute(self, key_id: str) -> ApiKey:
        async with self._uow() as uow:
            revoked = await uow.api_keys.revoke(key_id, self._clock.now())
            key = await uow.api_keys.get(key_id)  # as revoked, in this same transaction
            if not revoked or key is None:
                raise NotFound("api key", key_id)
            await uow.commit()
        return key


class ListApiKeys:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self) -> list[ApiKey]:
        """Every key, revoked ones too, newest first."""
        async with self._uow() as uow:
            return await uow.api_keys.all()


class AuthenticateApiKey:
    """The active key a request presents, or None."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, presented: str) -> ApiKey | None:
        async with self._uow() as uow:
            key = await uow.api_keys.by_hash(hash_key(presented))
        return key if key is not None and key.active else None


class EnsureBootstrapKey:
    """At start-up, make sure someone can use the API; safe to run on every start.

    With ``WFA_API_KEY`` configured, that key is stored (by hash) unless it already is; a
    configured key that was revoked stays revoked, so revoking a leaked key sticks across
    restarts. Without one, an ``admin`` key is made when no active key exists, and its
    plaintext returned for the caller to print once.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, entropy: Entropy) -> None:
        self._uow, self._clock, self._entropy = uow, clock, entropy

    async def execute(self, configured: str | None) -> str | None:
        if configured:
            await self._ensure_configured(configured)
            return None
        async with self._uow() as uow:
            if await uow.api_keys.count_active() > 0:
                return None
            first = not await uow.api_keys.all()
        plaintext = KEY_PREFIX + self._entropy.token()
        key_id = FIRST_ADMIN_ID if first else self._entropy.new_id()
        key = issue_key(key_id, ADMIN_NAME, plaintext, self._clock.now())
        try:
            async with self._uow() as uow:
                await uow.api_keys.add(key)
                await uow.commit()
        except DuplicateApiKey:
            return None  # another process starting beside this one made and printed it
        return plaintext

    async def _ensure_configured(self, configured: str) -> None:
        key = issue_key(self._entropy.new_id(), BOOTSTRAP_NAME, configured, self._clock.now())
        try:
            async with self._uow() as uow:
                if await uow.api_keys.by_hash(key.key_hash) is not None:
                    return
                await uow.api_keys.add(key)
                await uow.commit()
        except DuplicateApiKey:
            return  # another process starting beside this one stored it first
