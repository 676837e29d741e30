"""Set, list, delete and rotate secrets, and resolve the ones a step's params name.

Values go in here and come out only to be rendered into an action's params: nothing this
module returns to a caller carries a value, and the ciphertext is all that is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import msgspec

from wfa.application.errors import InvalidSecret, MissingSecrets, NotFound
from wfa.application.ports.clock import Clock
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.ports.secrets import SecretCipher
from wfa.application.redaction import protect
from wfa.application.webhook_secrets import holds_plain_secret, reseal_all
from wfa.domain.expression_cost import Budget
from wfa.domain.secret_references import render_params, secret_names
from wfa.domain.secrets import StoredSecret, secret_name_problem, secret_value_problem


class SetSecret:
    """Create a secret, or replace the value of one (its ``created_at`` stays)."""

    def __init__(self, uow: UnitOfWorkFactory, cipher: SecretCipher, clock: Clock) -> None:
        self._uow, self._cipher, self._clock = uow, cipher, clock

    async def execute(self, name: str, value: str) -> tuple[StoredSecret, bool]:
        """The stored secret (without its value) and whether it is new."""
        problem = secret_name_problem(name) or secret_value_problem(value)
        if problem is not None:
            raise InvalidSecret(problem)
        ciphertext = self._cipher.seal(name, value)
        now = self._clock.now()
        async with self._uow() as uow:
            existing = await uow.secrets.get(name)
            created_at = now if existing is None else existing.created_at
            secret = StoredSecret(
                name=name, ciphertext=ciphertext, created_at=created_at, updated_at=now
            )
            await uow.secrets.put(secret)
            await uow.commit()
        return secret, existing is None


class ListSecrets:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self) -> list[StoredSecret]:
        """Every secret, by name (callers show names and times, never values)."""
        async with self._uow() as uow:
            return await uow.secrets.all()


class DeleteSecret:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, name: str) -> None:
        async with self._uow() as uow:
            if not await uow.secrets.delete(name):
                raise NotFound("secret", name)
            await uow.commit()


class Rotated(msgspec.Struct, frozen=True, kw_only=True):
    secrets: int
    webhook_versions: int  # workflow versions whose webhook secrets were sealed again


class RotateSecrets:
    """Seal every secret and every webhook secret again with the current key, in one
    transaction.

    Run it after putting a new key first in WFA_SECRET_KEY; once it is done, the old keys
    can go. A secret no configured key opens stops it before anything is changed.
    """

    def __init__(self, uow: UnitOfWorkFactory, cipher: SecretCipher) -> None:
        self._uow, self._cipher = uow, cipher

    async def execute(self) -> Rotated:
        """How many secrets, and workflow versions holding webhook secrets, were sealed again."""
        async with self._uow() as uow:
            stored = await uow.secrets.all()
            for secret in stored:
                ciphertext = self._cipher.reseal(secret.name, secret.ciphertext)
                await uow.secrets.put(msgspec.structs.replace(secret, ciphertext=ciphertext))
            versions = await reseal_all(uow, self._cipher)
            await uow.commit()
        return Rotated(secrets=len(stored), webhook_versions=versions)


class SealPlainWebhookSecrets:
    """Seal the webhook secrets stored in plain text by earlier versions, in one transaction.

    Run by ``wfa db upgrade`` after the schema migrations: a migration has no key to seal
    with, the upgrade command has the process's. The key is asked for only when a plain
    secret is found, so a database without one needs none.
    """

    def __init__(self, uow: UnitOfWorkFactory, cipher: Callable[[], SecretCipher]) -> None:
        self._uow, self._cipher = uow, cipher

    async def execute(self) -> int:
        """How many workflow versions had their webhook secrets sealed.

        Raises SecretKeyUnavailable, changing nothing, when there are some and no key.
        """
        async with self._uow() as uow:
            stored = await uow.workflows.with_webhook_secrets()
            if not any(holds_plain_secret(workflow.definition) for workflow in stored):
                return 0
            count = await reseal_all(uow, self._cipher(), plain_only=True)
            await uow.commit()
        return count


class ResolveSecrets:
    """The secrets a step's params name, for the one rendering of those params.

    Only the secrets the templates name are read (one query); a step that names none reads
    nothing. Every value read joins the open redaction scope before it is used.
    """

    def __init__(self, uow: UnitOfWorkFactory | None, cipher: SecretCipher | None) -> None:
        self._uow, self._cipher = uow, cipher

    async def render(
        self, params: Any, context: dict[str, Any], budget: Budget | None = None
    ) -> Any:
        """``params`` rendered over ``context``, with the secrets they name (and no others).

        The secrets never join ``context``: each bare ``{{ secrets.NAME }}`` is replaced by
        its value and every other expression is evaluated without them.
        Raises MissingSecrets naming every secret that is not set, SecretKeyUnavailable or
        UnreadableSecret when one cannot be decrypted, ExpressionError from the templates.
        """
        names = secret_names(params)
        values = await self.values(names) if names else {}
        return render_params(params, context, values, budget)

    async def values(self, names: Collection[str]) -> dict[str, str]:
        if self._uow is None or self._cipher is None:
            raise MissingSecrets(list(names))
        async with self._uow() as uow:
            stored = await uow.secrets.many(names)
        missing = set(names) - {secret.name for secret in stored}
        if missing:
            raise MissingSecrets(list(missing))
        cipher = self._cipher
        values = {secret.name: cipher.open(secret.name, secret.ciphertext) for secret in stored}
        protect(values.values())
        return values


NO_SECRETS = ResolveSecrets(None, None)
"""For engines without a secret store: a step that names a secret fails with secret.missing."""
