"""Errors the use cases raise; the edges map them to status codes and exit codes."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of the errors a caller is meant to see."""


class NotFound(ApplicationError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found")
        self.kind = kind
        self.ident = ident


class ConcurrencyConflict(ApplicationError):
    """Someone else changed the run first; the caller re-reads and decides again."""

    def __init__(self, run_id: str, expected_seq: int) -> None:
        super().__init__(f"run {run_id} changed since seq {expected_seq}")
        self.run_id = run_id


class TransactionAborted(ConcurrencyConflict):
    """The database broke a deadlock by aborting this transaction: nothing in it can be
    kept, and it is decided again from the start."""


class AmbiguousWorkflow(ApplicationError):
    """A name that several live workflows have: the caller names one by its id."""

    def __init__(self, name: str, ids: list[str]) -> None:
        shown = ", ".join(ids)
        super().__init__(f"more than one workflow is named {name!r} ({shown}): name it by its id")
        self.name = name


class DuplicateRun(ApplicationError):
    """A run with this idempotency key already exists for the workflow."""

    def __init__(self, workflow_id: str, key: str) -> None:
        super().__init__(f"workflow {workflow_id} already has a run for key {key!r}")
        self.workflow_id = workflow_id
        self.key = key


class WebhookPathTaken(ApplicationError):
    """Another live workflow already answers ``POST /hooks/{path}``; a path has one owner.

    ``workflow_id`` is the owner's, so the caller can say which workflow to change.
    """

    def __init__(self, path: str, workflow_id: str) -> None:
        super().__init__(f"webhook path {path!r} is already used by workflow {workflow_id}")
        self.path = path
        self.workflow_id = workflow_id


class DuplicateApiKey(ApplicationError):
    """A key with the same hash or id is stored already (two starts bootstrapping one key)."""

    def __init__(self, prefix: str) -> None:
        super().__init__(f"an API key starting {prefix!r} is stored already")
        self.prefix = prefix


class InvalidSecret(ApplicationError):
    """A secret's name or value that cannot be stored (bad name, empty or too long)."""


class SecretError(ApplicationError):
    """A secret that cannot be had; ``code`` is the error name a step fails with for it."""

    code = "secret.error"


class MissingSecrets(SecretError):
    """A step names secrets that are not set."""

    code = "secret.missing"

    def __init__(self, names: list[str]) -> None:
        self.names = sorted(names)
        listed = ", ".join(repr(name) for name in self.names)
        one = len(self.names) == 1
        name = self.names[0] if one else "NAME"
        super().__init__(
            f"no secret{'' if one else 's'} named {listed}: set {'it' if one else 'them'} with "
            f"'wfa secret set {name}' or PUT /api/v1/secrets/{name}"
        )


class SecretKeyUnavailable(SecretError):
    """No key to encrypt or decrypt secrets with is configured (WFA_SECRET_KEY)."""

    code = "secret.unavailable"


class UnreadableSecret(SecretError):
    """A stored secret that none of the configured keys decrypts."""

    code = "secret.unreadable"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"secret {name!r} cannot be read: {reason}")
        self.name = name


class StoreRefused(ApplicationError):
    """The store refused the data written (not the connection or a race): writing the same
    again fails the same way, so it is not retried (PostgreSQL: a DataError)."""

    def __init__(self, reason: str) -> None:
        first = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
        super().__init__(f"the store refused the data: {first}")


class ReplayedWebhook(ApplicationError):
    """A signed webhook request whose signature was accepted before, inside its window."""

    def __init__(self) -> None:
        super().__init__(
            "this signed request was received before: sign each request anew (a replay "
            "is refused, whatever its Idempotency-Key)"
        )


class InvalidWebhookBody(ApplicationError):
    """A webhook body that is not JSON."""


class WebhookSecretRefused(ApplicationError):
    """A webhook secret in a definition that cannot be stored (no key, or no secret to keep)."""


class UnknownCallback(ApplicationError):
    """A callback token this server did not issue (forged, mistyped or cut short)."""

    def __init__(self) -> None:
        super().__init__("no such callback: the link is not one this server gave out")


class InvalidRequest(ApplicationError):
    """A request's value that is wrong in itself (a name, a key): 400, said in one line."""
