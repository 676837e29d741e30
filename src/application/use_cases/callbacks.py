"""Task callbacks: the links a task's action hands out, and what happens when one is used.

The link carries a token naming the run, step and attempt it resumes and when it expires,
signed with a key derived from the server's secret key: nothing is stored for it, nobody
can make one up, and the run itself says whether it is still of use (once only, within
the step's callback timeout).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from wfa.application.errors import InvalidRequest, NotFound, UnknownCallback
from wfa.application.payloads import (
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_PAYLOAD_BYTES,
    as_bounded_json,
    check_storable,
)
from wfa.application.ports.callbacks import CallbackRef, CallbackTokens
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.run_transitions import RunTransitions
from wfa.domain.awaiting import CALLBACK_USED
from wfa.domain.commands import ResolveCallback
from wfa.domain.definition import TaskStep
from wfa.domain.errors import Refusal
from wfa.domain.events import ErrorInfo
from wfa.domain.run import AttemptStatus, Run

MAX_TOKEN_LENGTH = 1024
MAX_ERROR_NAME = 128
MAX_MESSAGE = 4096


class CallbackUsed(msgspec.Struct, frozen=True, kw_only=True):
    """The run a callback resumed, as it is now, and the step that was waiting."""

    run: Run
    step_id: str


class CallbackView(msgspec.Struct, frozen=True, kw_only=True):
    """What a callback link's page shows: whose step waits, until when, and whether the
    link can still be used."""

    run_id: str
    step_id: str
    workflow: str
    expires_at: datetime
    usable: bool


class CallbackLinks:
    """What a task with a callback finds as ``callback`` in its params' context."""

    def __init__(self, tokens: CallbackTokens, public_url: str) -> None:
        self._tokens = tokens
        self._base = public_url.rstrip("/")

    def for_attempt(self, run: Run, step: TaskStep) -> dict[str, Any]:
        """``{url, fail_url, token, expires_at}`` for the run's running attempt of ``step``."""
        attempt = run.attempt
        assert attempt is not None
        assert attempt.started_at is not None
        assert step.callback is not None
        expires = attempt.started_at + timedelta(seconds=step.callback.timeout)
        ref = CallbackRef(
            run_id=run.id, step_id=step.id, attempt=attempt.number, expires_at=expires
        )
        token = self._tokens.issue(ref)
        url = f"{self._base}/callbacks/{token}"
        return {
            "url": url,
            "fail_url": f"{url}/fail",
            "token": token,
            "expires_at": expires.isoformat(),
        }


class UseCallback:
    """``POST /callbacks/{token}`` (and ``…/fail``): end the waiting step, once."""

    def __init__(
        self,
        transitions: RunTransitions,
        tokens: CallbackTokens,
        clock: Clock,
        entropy: Entropy,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_depth: int = DEFAULT_MAX_JSON_DEPTH,
        uow: UnitOfWorkFactory | None = None,
    ) -> None:
        self._uow = uow
        self._transitions = transitions
        self._tokens = tokens
        self._clock = clock
        self._entropy = entropy
        self._max_bytes, self._max_depth = max_payload_bytes, max_depth

    async def succeed(self, token: str, output: Any) -> CallbackUsed:
        ref = self._read(token)
        output = as_bounded_json(output, "the callback's body", self._max_bytes, self._max_depth)
        command = ResolveCallback(step_id=ref.step_id, attempt=ref.attempt, output=output)
        return await self._resolve(ref, command)

    async def fail(self, token: str, error: str, message: str = "") -> CallbackUsed:
        ref = self._read(token)
        if not 0 < len(error) <= MAX_ERROR_NAME or len(message) > MAX_MESSAGE:
            raise InvalidRequest(
                f"'error' is 1 to {MAX_ERROR_NAME} characters and 'message' at most {MAX_MESSAGE}"
            )
        check_storable([error, message], "the callback's error")
        command = ResolveCallback(
            step_id=ref.step_id,
            attempt=ref.attempt,
            error=ErrorInfo(error=error, message=message),
            random_fraction=self._entropy.fraction(),
        )
        return await self._resolve(ref, command)

    async def _resolve(self, ref: CallbackRef, command: ResolveCallback) -> CallbackUsed:
        try:
            moved = await self._transitions.apply(ref.run_id, command)
        except NotFound:  # the run was pruned: the link is as good as unknown
            raise UnknownCallback() from None
        return CallbackUsed(run=moved.run, step_id=ref.step_id)

    async def describe(self, token: str) -> CallbackView:
        """What the link resumes, for a person deciding whether to use it (changes nothing)."""
        ref = self._tokens.read(token) if len(token) <= MAX_TOKEN_LENGTH else None
        if ref is None or self._uow is None:
            raise UnknownCallback()
        async with self._uow() as uow:
            run = await uow.runs.get(ref.run_id)
            workflow = None if run is None else await uow.workflows.get(run.workflow_id)
        if run is None:
            raise UnknownCallback()
        attempt = run.attempt
        usable = (
            not run.status.is_terminal
            and attempt is not None
            and (attempt.step_id, attempt.number) == (ref.step_id, ref.attempt)
            and attempt.status in (AttemptStatus.RUNNING, AttemptStatus.AWAITING)
            and ref.expires_at > self._clock.now()
        )
        return CallbackView(
            run_id=run.id,
            step_id=ref.step_id,
            workflow=workflow.name if workflow is not None else run.workflow_id,
            expires_at=ref.expires_at,
            usable=usable,
        )

    def _read(self, token: str) -> CallbackRef:
        ref = self._tokens.read(token) if len(token) <= MAX_TOKEN_LENGTH else None
        if ref is None:
            raise UnknownCallback()
        if ref.expires_at <= self._clock.now():
            raise Refusal(CALLBACK_USED, "this callback link has expired (its step timed out)")
        return ref
