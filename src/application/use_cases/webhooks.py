"""Webhooks: find the workflow a path starts, check the request's signature, start the run.

``ReceiveWebhook`` does all three in one transaction, against the one version it read: the
version whose secret and signature scheme accepted the request is the version the run
follows, and the delivery is remembered (so a replay is refused) only if the run starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import msgspec

from wfa.application.errors import (
    DuplicateRun,
    InvalidWebhookBody,
    NotFound,
    ReplayedWebhook,
)
from wfa.application.ports.clock import Clock
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.application.ports.secrets import SecretCipher
from wfa.application.use_cases.start_run import StartedRun, StartRun, StartRunRequest
from wfa.application.webhook_secrets import open_secret
from wfa.domain.definition import WebhookTrigger
from wfa.domain.webhook_signatures import (
    DEFAULT_GITHUB_RETENTION,
    DEFAULT_TOLERANCE,
    verify_signature,
)
from wfa.domain.workflow import Workflow


class WebhookRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request to ``POST /hooks/{path}``: its raw body and the headers that sign it."""

    path: str
    body: bytes
    headers: Mapping[str, str]  # lower-case names; only the signature headers are needed
    idempotency_key: str | None = None


class SignatureWindow(msgspec.Struct, frozen=True, kw_only=True):
    """How far a signed timestamp may be from now, and how long GitHub deliveries are kept."""

    tolerance: timedelta = DEFAULT_TOLERANCE
    github_retention: timedelta = DEFAULT_GITHUB_RETENTION


class ReceiveWebhook:
    """Start a run of the workflow that owns the path, if the request is signed as it asks."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        start_run: StartRun,
        cipher: SecretCipher,
        clock: Clock,
        window: SignatureWindow | None = None,
    ) -> None:
        self._uow, self._start_run, self._cipher, self._clock = uow, start_run, cipher, clock
        self._window = window or SignatureWindow()

    async def execute(self, request: WebhookRequest) -> StartedRun:
        """Raise NotFound, SignatureRefused, ReplayedWebhook, InvalidWebhookBody, or what
        StartRun raises for an input it will not keep."""
        try:
            async with self._uow() as uow:
                workflow = await _owner(uow, request.path)
                trigger = _trigger(workflow, request.path)
                if trigger.secret is not None:
                    await self._check_signature(uow, workflow, trigger, request)
                start = StartRunRequest(
                    workflow_id=workflow.id,
                    input=_json_body(request.body),
                    trigger=f"webhook:{request.path}",
                    idempotency_key=request.idempotency_key,
                )
                self._start_run.check_input(start)
                existing = await self._start_run.existing_run(uow, start)
                if existing is not None:
                    await uow.commit()  # the delivery is remembered all the same
                    return StartedRun(run_id=existing, created=False)
                decision = await self._start_run.start_in(uow, start, workflow)
                await uow.commit()
        except DuplicateRun:
            return await self._start_run.raced(start)
        await self._start_run.deliver(decision)
        return StartedRun(run_id=decision.run.id, created=True)

    async def _check_signature(
        self, uow: UnitOfWork, workflow: Workflow, trigger: WebhookTrigger, request: WebhookRequest
    ) -> None:
        now = self._clock.now()
        verified = verify_signature(
            trigger.signature,
            open_secret(trigger, workflow.id, self._cipher),
            request.headers,
            request.body,
            now,
            path=request.path,
            tolerance=self._window.tolerance,
            retention=self._window.github_retention,
        )
        if not await uow.webhook_deliveries.claim(verified.claims, verified.remember_until, now):
            raise ReplayedWebhook()


async def _owner(uow: UnitOfWork, path: str) -> Workflow:
    workflow = await uow.workflows.by_webhook(path)
    if workflow is None:
        raise NotFound("webhook", path)
    return workflow


def _trigger(workflow: Workflow, path: str) -> WebhookTrigger:
    return next(
        t for t in workflow.definition.triggers if isinstance(t, WebhookTrigger) and t.path == path
    )


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise InvalidWebhookBody(f"the webhook body is not valid JSON: {error}") from None
