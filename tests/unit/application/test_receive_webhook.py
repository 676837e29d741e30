"""ReceiveWebhook and webhook secrets at rest, on the memory store and a fake clock."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import msgspec
import pytest

from tests.delegating import DelegatingUnitOfWork
from tests.unit.application.conftest import task
from wfa.adapters.clock import FakeClock
from wfa.adapters.persistence.memory import MemoryStore
from wfa.adapters.secrets.fernet import FernetCipher, UnavailableCipher, generate_key
from wfa.application.errors import (
    ReplayedWebhook,
    SecretKeyUnavailable,
    UnreadableSecret,
    WebhookSecretRefused,
)
from wfa.application.ports.secrets import SecretCipher
from wfa.application.use_cases.secrets import RotateSecrets, SealPlainWebhookSecrets
from wfa.application.use_cases.webhooks import ReceiveWebhook, WebhookRequest
from wfa.application.webhook_secrets import PLACEHOLDER, SEALED, open_secret
from wfa.domain.definition import WebhookTrigger
from wfa.domain.webhook_signatures import SignatureRefused
from wfa.domain.workflow import Workflow
from wfa.entrypoints.local import LocalEngine

BODY = b'{"n": 1}'


def hooked(secret: str | None = "s3cret", path: str = "orders", **trigger: Any) -> dict[str, Any]:
    return {
        "name": "orders",
        "trigger": {"type": "webhook", "path": path, "secret": secret, **trigger},
        "steps": [task("a")],
    }


def signed(clock: FakeClock, body: bytes = BODY, secret: str = "s3cret") -> dict[str, str]:
    t = int(clock.now().timestamp())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-wfa-signature": f"t={t},v1={digest}"}


def trigger_of(workflow: Workflow) -> WebhookTrigger:
    (trigger,) = workflow.definition.triggers
    assert isinstance(trigger, WebhookTrigger)
    return trigger


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def engine(store: MemoryStore) -> LocalEngine:
    return LocalEngine.virtual(unit_of_work=store.unit_of_work)


def receiver(engine: LocalEngine, cipher: SecretCipher | None = None) -> ReceiveWebhook:
    cipher = cipher or engine.secret_cipher
    return ReceiveWebhook(engine.unit_of_work, engine.start_run, cipher, engine.clock)


async def test_a_signed_request_starts_one_run_and_its_replay_is_refused(engine):
    await engine.register.execute(hooked())
    receive = receiver(engine)
    headers = signed(engine.clock)
    started = await receive.execute(WebhookRequest(path="orders", body=BODY, headers=headers))
    assert started.created
    for key in (None, "another-key"):
        replay = WebhookRequest(path="orders", body=BODY, headers=headers, idempotency_key=key)
        with pytest.raises(ReplayedWebhook):
            await receive.execute(replay)
    engine.clock.advance(1)
    again = await receive.execute(
        WebhookRequest(path="orders", body=BODY, headers=signed(engine.clock))
    )
    assert again.run_id != started.run_id


async def test_a_refused_start_leaves_the_signature_unused(engine, store):
    await engine.register.execute(hooked())
    receive = receiver(engine)
    headers = signed(engine.clock, body=b"[1")
    with pytest.raises(Exception, match="not valid JSON"):
        await receive.execute(WebhookRequest(path="orders", body=b"[1", headers=headers))
    assert store.webhook_deliveries == {}


async def test_the_run_follows_the_version_whose_secret_accepted_the_request(engine, store):
    """by_webhook reads version 1 while a version 2 (another secret) lands: the run is on 1."""
    v1 = await engine.register.execute(hooked())
    await engine.update.execute(v1.id, hooked(secret="rotated"))

    class StaleWorkflows:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        async def by_webhook(self, path: str) -> Workflow | None:
            return await self._inner.get(v1.id, version=1)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    class StaleUnitOfWork(DelegatingUnitOfWork):
        def __init__(self) -> None:
            super().__init__(store.unit_of_work())
            self.workflows = StaleWorkflows(self._inner.workflows)

    receive = ReceiveWebhook(StaleUnitOfWork, engine.start_run, engine.secret_cipher, engine.clock)
    request = WebhookRequest(path="orders", body=BODY, headers=signed(engine.clock))
    started = await receive.execute(request)
    run = await engine.get_run.execute(started.run_id)
    assert run.run.workflow_version == 1


async def test_github_deliveries_are_remembered_for_the_retention_window(engine):
    await engine.register.execute(hooked(signature="github"))
    receive = receiver(engine)
    hub = "sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    request = WebhookRequest(path="orders", body=BODY, headers={"x-hub-signature-256": hub})
    await receive.execute(request)
    engine.clock.advance(24 * 3600 - 1)
    with pytest.raises(ReplayedWebhook):
        await receive.execute(request)
    engine.clock.advance(2)
    assert (await receive.execute(request)).created  # forgotten: GitHub has no timestamp


async def test_a_wrong_scheme_or_secret_is_refused(engine):
    await engine.register.execute(hooked(signature="stripe"))
    receive = receiver(engine)
    with pytest.raises(SignatureRefused, match="Stripe-Signature: missing"):
        await receive.execute(
            WebhookRequest(path="orders", body=BODY, headers=signed(engine.clock))
        )


async def test_secrets_are_stored_sealed_and_open_only_where_they_were_sealed(engine, store):
    workflow = await engine.register.execute(hooked())
    secret = trigger_of(workflow).secret
    assert secret is not None
    assert secret.startswith(SEALED)
    assert "s3cret" not in secret
    assert store.workflows[workflow.id][0] == workflow
    assert open_secret(trigger_of(workflow), workflow.id, engine.secret_cipher) == "s3cret"
    with pytest.raises(UnreadableSecret):
        open_secret(trigger_of(workflow), "another-workflow", engine.secret_cipher)


async def test_the_placeholder_keeps_the_stored_secret_of_the_same_path(engine):
    v1 = await engine.register.execute(hooked())
    v2 = await engine.update.execute(v1.id, hooked(secret=PLACEHOLDER))
    assert trigger_of(v2).secret == trigger_of(v1).secret
    assert open_secret(trigger_of(v2), v2.id, engine.secret_cipher) == "s3cret"
    with pytest.raises(WebhookSecretRefused, match="has none stored"):
        await engine.update.execute(v1.id, hooked(secret=PLACEHOLDER, path="other"))
    with pytest.raises(WebhookSecretRefused, match="has none stored"):
        await engine.register.execute(hooked(secret=PLACEHOLDER, path="new"))


async def test_without_a_key_a_webhook_secret_is_refused_naming_the_variable(store):
    no_key = UnavailableCipher("WFA_SECRET_KEY is not set")
    engine = LocalEngine.virtual(unit_of_work=store.unit_of_work, secret_cipher=no_key)
    with pytest.raises(WebhookSecretRefused, match="WFA_SECRET_KEY"):
        await engine.register.execute(hooked())
    await engine.register.execute(hooked(secret=None))  # no secret, no key needed


async def test_rotate_seals_webhook_secrets_again_under_the_new_key(store):
    old, new = generate_key(), generate_key()
    engine = LocalEngine.virtual(
        unit_of_work=store.unit_of_work, secret_cipher=FernetCipher.from_text(old)
    )
    workflow = await engine.register.execute(hooked())
    rotated = await RotateSecrets(
        store.unit_of_work, FernetCipher.from_text(f"{new},{old}")
    ).execute()
    assert rotated.webhook_versions == 1
    (stored,) = store.workflows[workflow.id]
    assert open_secret(trigger_of(stored), workflow.id, FernetCipher.from_text(new)) == "s3cret"
    receive = receiver(engine, FernetCipher.from_text(new))
    request = WebhookRequest(path="orders", body=BODY, headers=signed(engine.clock))
    assert (await receive.execute(request)).created


async def test_upgrade_seals_plain_secrets_and_needs_no_key_without_them(engine, store):
    sealed = await engine.register.execute(hooked())
    plain = msgspec.structs.replace(
        await engine.register.execute(hooked(secret=None, path="legacy")),
        version=2,
    )
    plain = msgspec.structs.replace(
        plain,
        definition=msgspec.structs.replace(
            plain.definition, triggers=(WebhookTrigger(path="legacy", secret="plain"),)
        ),
    )
    store.workflows[plain.id].append(plain)  # as an earlier version of wfa stored it

    def no_key() -> SecretCipher:
        raise SecretKeyUnavailable("WFA_SECRET_KEY is not set")

    with pytest.raises(SecretKeyUnavailable):
        await SealPlainWebhookSecrets(store.unit_of_work, no_key).execute()
    with pytest.raises(UnreadableSecret, match="plain text"):
        open_secret(trigger_of(plain), plain.id, engine.secret_cipher)
    seal = SealPlainWebhookSecrets(store.unit_of_work, lambda: engine.secret_cipher)
    assert await seal.execute() == 1
    resealed = store.workflows[plain.id][1]
    assert open_secret(trigger_of(resealed), plain.id, engine.secret_cipher) == "plain"
    assert store.workflows[sealed.id] == [sealed], "sealed ones are left as they are"
    assert await SealPlainWebhookSecrets(store.unit_of_work, no_key).execute() == 0


async def test_a_replay_at_the_last_instant_of_the_window_is_refused(engine):
    await engine.register.execute(hooked())
    receive = receiver(engine)
    request = WebhookRequest(path="orders", body=BODY, headers=signed(engine.clock))
    await receive.execute(request)
    engine.clock.advance(300)  # the signature is still inside its window
    with pytest.raises(ReplayedWebhook):
        await receive.execute(request)
    engine.clock.advance(1)
    with pytest.raises(SignatureRefused, match="more than 300 seconds"):
        await receive.execute(request)
