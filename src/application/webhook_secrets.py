"""Webhook secrets at rest: sealed in the stored definition, never kept in plain text.

A definition from the user holds each webhook secret in plain text, or the placeholder
that ``GET /workflows/{id}`` shows in its place. Before it is stored, every plain secret is
sealed with the secret cipher (the key of WFA_SECRET_KEY) and the placeholder is replaced
with the secret the current version keeps for the same path. A stored definition holds
``sealed:<Fernet token>``; the token is sealed under ``webhook:<workflow id>:<path>``, so
it does not open when copied to another workflow or path.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from wfa.application.errors import SecretKeyUnavailable, UnreadableSecret, WebhookSecretRefused
from wfa.application.ports.repositories import UnitOfWork
from wfa.application.ports.secrets import SecretCipher
from wfa.domain.definition import Definition, Trigger, WebhookTrigger

PLACEHOLDER = "********"
"""What the API shows in place of a webhook secret; sent back, it keeps the stored one."""
SEALED = "sealed:"

_SecretChange = Callable[[WebhookTrigger, str], str]


class _NoCipher:
    """For use cases built without a key: a webhook secret cannot be sealed or opened."""

    def _refuse(self) -> SecretKeyUnavailable:
        return SecretKeyUnavailable("no secret key is configured (WFA_SECRET_KEY)")

    def seal(self, name: str, value: str) -> bytes:
        raise self._refuse()

    def open(self, name: str, ciphertext: bytes) -> str:
        raise self._refuse()

    def reseal(self, name: str, ciphertext: bytes) -> bytes:
        raise self._refuse()


NO_CIPHER: SecretCipher = _NoCipher()


def cipher_name(workflow_id: str, path: str) -> str:
    return f"webhook:{workflow_id}:{path}"


def has_webhook_secret(definition: Definition) -> bool:
    return any(isinstance(t, WebhookTrigger) and t.secret for t in definition.triggers)


def seal_new_secrets(
    definition: Definition,
    workflow_id: str,
    cipher: SecretCipher,
    current: Definition | None,
) -> Definition:
    """``definition`` as it is stored: plain secrets sealed, placeholders kept from ``current``.

    Raises WebhookSecretRefused for a placeholder with no stored secret behind it, or when
    no key is configured to seal a secret with.
    """
    kept = _sealed_by_path(current)

    def sealed(trigger: WebhookTrigger, secret: str) -> str:
        if secret == PLACEHOLDER:
            if trigger.path not in kept:
                raise WebhookSecretRefused(
                    f"webhook {trigger.path!r}: {PLACEHOLDER!r} stands for the stored secret, "
                    "but this path has none stored: send the secret itself"
                )
            return kept[trigger.path]
        try:
            return SEALED + cipher.seal(cipher_name(workflow_id, trigger.path), secret).decode()
        except SecretKeyUnavailable as error:
            raise WebhookSecretRefused(
                f"webhook {trigger.path!r} has a secret, but this server cannot encrypt it: {error}"
            ) from None

    return _with_secrets(definition, sealed)


def reseal_stored_secrets(
    definition: Definition, workflow_id: str, cipher: SecretCipher
) -> Definition:
    """A stored definition with its secrets sealed again with the current key.

    A secret stored in plain text (before secrets were sealed) is sealed now. Raises
    UnreadableSecret for a secret that no configured key opens.
    """

    def resealed(trigger: WebhookTrigger, secret: str) -> str:
        name = cipher_name(workflow_id, trigger.path)
        if not secret.startswith(SEALED):
            return SEALED + cipher.seal(name, secret).decode()
        token = secret.removeprefix(SEALED).encode()
        return SEALED + cipher.reseal(name, token).decode()

    return _with_secrets(definition, resealed)


def open_secret(trigger: WebhookTrigger, workflow_id: str, cipher: SecretCipher) -> str:
    """The plain secret of a stored webhook trigger that has one."""
    assert trigger.secret is not None, "only a trigger with a secret is opened"
    name = cipher_name(workflow_id, trigger.path)
    if not trigger.secret.startswith(SEALED):
        raise UnreadableSecret(
            name, "it is stored in plain text: run 'wfa db upgrade' with WFA_SECRET_KEY set"
        )
    return cipher.open(name, trigger.secret.removeprefix(SEALED).encode())


def _sealed_by_path(definition: Definition | None) -> dict[str, str]:
    if definition is None:
        return {}
    return {
        t.path: t.secret
        for t in definition.triggers
        if isinstance(t, WebhookTrigger) and t.secret and t.secret.startswith(SEALED)
    }


def _with_secrets(definition: Definition, change: _SecretChange) -> Definition:
    triggers: list[Trigger] = []
    for trigger in definition.triggers:
        if isinstance(trigger, WebhookTrigger) and trigger.secret is not None:
            trigger = msgspec.structs.replace(trigger, secret=change(trigger, trigger.secret))
        triggers.append(trigger)
    return msgspec.structs.replace(definition, triggers=tuple(triggers))


def holds_plain_secret(definition: Definition) -> bool:
    """Whether a stored definition holds a webhook secret from before secrets were sealed."""
    return any(
        isinstance(t, WebhookTrigger) and t.secret is not None and not t.secret.startswith(SEALED)
        for t in definition.triggers
    )


async def reseal_all(uow: UnitOfWork, cipher: SecretCipher, *, plain_only: bool = False) -> int:
    """Seal every stored webhook secret again (plain ones for the first time), in ``uow``;
    with ``plain_only``, only the versions that hold a plain one.

    How many workflow versions changed. Raises UnreadableSecret, changing nothing the
    caller commits, when a secret opens under none of the keys.
    """
    stored = await uow.workflows.with_webhook_secrets()
    if plain_only:
        stored = [workflow for workflow in stored if holds_plain_secret(workflow.definition)]
    for workflow in stored:
        definition = reseal_stored_secrets(workflow.definition, workflow.id, cipher)
        await uow.workflows.replace_definition(
            msgspec.structs.replace(workflow, definition=definition)
        )
    return len(stored)
