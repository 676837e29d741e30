"""Execute one step job: claim the attempt, run its action, record the outcome.

The claim is committed before the action runs, so a duplicate delivery never runs the
action again (a worker may commit it together with other jobs' moves: ``moves``).
The outcome's transaction moves the run on and, when the next step is a task due at once,
claims it for this worker too: a run then goes from task to task without the queue, at one
transaction per step. After ``MAX_CHAINED_STEPS`` the next job goes back to the queue, so
one long run cannot hold a worker forever. A retry whose backoff is shorter than
``max_held_backoff`` is waited for and taken the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from wfa.application.errors import NotFound, SecretError, StoreRefused
from wfa.application.log_context import log_context
from wfa.application.payloads import (
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_PAYLOAD_BYTES,
    NotJson,
    PayloadTooDeep,
    PayloadTooLarge,
    UnstorableText,
    as_bounded_json,
)
from wfa.application.ports.actions import Action, ActionCatalog, ActionContext, ActionError
from wfa.application.ports.clock import Entropy
from wfa.application.redaction import redact_outcome, redacting
from wfa.application.run_transitions import Moved, RunTransitions, holds
from wfa.application.use_cases.callbacks import CallbackLinks
from wfa.application.use_cases.fire_due_timers import CLOCK_SLACK
from wfa.application.use_cases.secrets import NO_SECRETS, ResolveSecrets
from wfa.domain.commands import (
    BeginAttempt,
    CompleteAttempt,
    ExtendLease,
    FailAttempt,
    RunCommand,
    Wake,
)
from wfa.domain.definition import TaskStep
from wfa.domain.errors import ExpressionError, ExpressionTooCostly, InvalidParams
from wfa.domain.events import ErrorInfo
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET, Budget
from wfa.domain.params import convert_params
from wfa.domain.progress import Job
from wfa.domain.run import AttemptStatus, Run
from wfa.domain.secrets import Redactor

log = logging.getLogger(__name__)

MAX_CHAINED_STEPS = 50
# Seconds: a retry due sooner is waited for by the worker that failed it (see _retry_soon).
HELD_BACKOFF = 0.5


class Moves(Protocol):
    """Where a worker's claims and outcomes are applied: ``RunTransitions`` or a group."""

    async def apply(
        self,
        run_id: str,
        command: Callable[[Run], RunCommand] | RunCommand,
        *,
        claim_next: bool = False,
        known: Run | None = None,
    ) -> Moved: ...


class StepOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    IGNORED = "ignored"  # a duplicate or stale job: nothing was run


class ExecuteStep:
    def __init__(
        self,
        transitions: RunTransitions,
        actions: ActionCatalog,
        entropy: Entropy,
        max_output_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        secrets: ResolveSecrets = NO_SECRETS,
        max_output_depth: int = DEFAULT_MAX_JSON_DEPTH,
        expression_budget: int = DEFAULT_EXPRESSION_BUDGET,
        callbacks: CallbackLinks | None = None,
        max_held_backoff: float = 0.0,
        moves: Moves | None = None,
    ) -> None:
        """``max_held_backoff``: hold retries due sooner than this (off by default: an
        engine on virtual time must not wait in real time). ``moves``: what claims and
        outcomes go through (a worker's ``GroupedTransitions``; else ``transitions``)."""
        self._transitions = transitions
        self._moves: Moves = moves or transitions
        self._max_held_backoff = max_held_backoff
        self._callbacks = callbacks
        self._expression_budget = expression_budget
        self._secrets = secrets
        self._actions = actions
        self._entropy = entropy
        self._max_output_bytes, self._max_output_depth = max_output_bytes, max_output_depth

    async def execute(self, job: Job) -> StepOutcome:
        try:
            claimed = await self._moves.apply(
                job.run_id, BeginAttempt(step_id=job.step_id, attempt=job.attempt)
            )
        except NotFound:
            log.warning("job for a run that no longer exists", extra={"run_id": job.run_id})
            return StepOutcome.IGNORED
        if claimed.decision.ignored or not holds(claimed.run, job):
            return StepOutcome.IGNORED  # taken already, or the claim ended the run (its budget)
        first: StepOutcome | None = None
        run, next_job = claimed.run, job
        for chained in range(MAX_CHAINED_STEPS):
            # Whatever is logged during the attempt (its action included) says which it was.
            with log_context(
                run_id=run.id,
                workflow_id=run.workflow_id,
                step_id=next_job.step_id,
                attempt=next_job.attempt,
            ):
                step = claimed.definition.step(next_job.step_id)
                assert isinstance(step, TaskStep)
                outcome = await self._perform_leased(step, run, next_job)
                claim_next = chained + 1 < MAX_CHAINED_STEPS
                try:
                    # Decided on the state this worker stored at the claim: no read, and a
                    # change since (a signal, a cancel, a lease extension) fails the write's
                    # seq check and is read then.
                    moved = await self._moves.apply(
                        next_job.run_id, outcome, claim_next=claim_next, known=run
                    )
                except StoreRefused as refused:  # the outcome itself: it would fail again
                    outcome = self._unstorable(next_job, refused)
                    moved = await self._moves.apply(next_job.run_id, outcome, claim_next=claim_next)
            if first is None:
                succeeded = isinstance(outcome, CompleteAttempt)
                first = StepOutcome.SUCCEEDED if succeeded else StepOutcome.FAILED
            if moved.claimed is None and claim_next:
                moved = await self._retry_soon(moved)
            if moved.claimed is None:
                break
            run, next_job = moved.run, moved.claimed
        return first or StepOutcome.IGNORED

    async def _retry_soon(self, moved: Moved) -> Moved:
        """Take the run's retry here when its backoff ends in under ``max_held_backoff``.

        Left to the timers, a short backoff ends when the scheduler next looks, which may
        be a tick later than it is due, then goes through the queue. Waiting here costs a
        worker slot for under a second; should the worker stop first, the run's timer is
        still there for the scheduler. Waking it takes one transaction that claims it too.
        """
        attempt = moved.run.attempt
        if moved.run.status.is_terminal or attempt is None:
            return moved
        if attempt.status is not AttemptStatus.SCHEDULED:
            return moved
        delay = (attempt.due_at - self._transitions.now()).total_seconds()
        if delay >= self._max_held_backoff:
            return moved
        await asyncio.sleep(max(delay, 0.0) + CLOCK_SLACK)  # due when it looks, not a hair before
        wake = Wake(random_fraction=self._entropy.fraction())
        return await self._moves.apply(moved.run.id, wake, claim_next=True)

    async def _perform_leased(
        self, step: TaskStep, run: Run, job: Job
    ) -> CompleteAttempt | FailAttempt:
        """Run the attempt's action while extending its lease in the background."""
        renewal = asyncio.create_task(self._keep_lease(job))
        try:
            # Secrets the params use are redacted from the outcome and the attempt's logs.
            with redacting() as redactor:
                outcome = await self._perform(step, run, job)
            return redact_outcome(outcome, redactor)
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _perform(self, step: TaskStep, run: Run, job: Job) -> CompleteAttempt | FailAttempt:
        action = self._actions.get(step.action)
        if action is None:
            message = f"no action named {step.action!r} is installed in this worker"
            return self._failed(job, ErrorInfo(error="action.unknown", message=message))
        run_context = run.context()
        if step.callback is not None:
            try:
                run_context["callback"] = links = self._callback_links(run, step)
            except SecretError as error:
                info = ErrorInfo(error="callback.unavailable", message=str(error), retryable=False)
                return self._failed(job, info)
            # Whoever reads the run (a viewer key) must not find the link in what the action
            # returned: it is the credential that ends the step. The process log keeps it.
            outcome = await self._act(action, step, run, job, run_context)
            return redact_outcome(outcome, Redactor([str(links["token"])]))
        return await self._act(action, step, run, job, run_context)

    async def _act(
        self, action: Action, step: TaskStep, run: Run, job: Job, run_context: dict[str, Any]
    ) -> CompleteAttempt | FailAttempt:
        try:
            # Secrets are substituted in this rendering only, never put in any context.
            budget = Budget(self._expression_budget)
            params = await self._secrets.render(step.params, run_context, budget)
        except ExpressionTooCostly as error:  # the same data costs the same again: no retry
            info = ErrorInfo(error=error.code, message=str(error), retryable=False)
            return self._failed(job, info)
        except ExpressionError as error:
            info = ErrorInfo(error="template.error", message=str(error), retryable=False)
            return self._failed(job, info)
        except SecretError as error:
            info = ErrorInfo(error=error.code, message=str(error), retryable=False)
            return self._failed(job, info)
        try:
            params = convert_params(params, action.params_type)
        except InvalidParams as error:
            info = ErrorInfo(error="params.invalid", message=str(error), retryable=False)
            return self._failed(job, info)
        assert run.attempt is not None
        context = ActionContext(
            run_id=run.id,
            workflow_id=run.workflow_id,
            step_id=step.id,
            attempt=job.attempt,
            try_number=run.attempt.try_number,
            run_context=run_context,
        )
        try:
            async with asyncio.timeout(step.timeout):
                output = await action(params, context)
            output = as_bounded_json(
                output, "the step's output", self._max_output_bytes, self._max_output_depth
            )
            return CompleteAttempt(step_id=job.step_id, attempt=job.attempt, output=output)
        except TimeoutError:
            message = f"the action ran longer than the step's timeout of {step.timeout}s"
            return self._failed(job, ErrorInfo(error="step.timeout", message=message))
        except ActionError as error:
            info = ErrorInfo(
                error=error.error,
                message=error.message,
                retryable=error.retryable,
                retry_after=error.retry_after,
            )
            return self._failed(job, info)
        except PayloadTooLarge as error:
            info = ErrorInfo(error="output.too_large", message=str(error), retryable=False)
            return self._failed(job, info)
        except (PayloadTooDeep, UnstorableText) as error:  # no store would keep it
            info = ErrorInfo(error="output.invalid", message=str(error), retryable=False)
            return self._failed(job, info)
        except NotJson as error:
            info = ErrorInfo(error="action.bad_output", message=str(error), retryable=False)
            return self._failed(job, info)
        except Exception as error:  # an action's bug must not take the worker down
            log.exception("action %s crashed", step.action, extra={"run_id": run.id})
            message = f"{type(error).__name__}: {error}"
            return self._failed(job, ErrorInfo(error="action.crashed", message=message))

    def _callback_links(self, run: Run, step: TaskStep) -> dict[str, object]:
        if self._callbacks is None:
            raise SecretError("this worker cannot give out callback links")
        return self._callbacks.for_attempt(run, step)

    def _unstorable(self, job: Job, refused: StoreRefused) -> FailAttempt:
        log.warning("the attempt's outcome could not be stored: %s", refused)
        message = f"the step's outcome could not be stored: {refused}"
        return self._failed(
            job, ErrorInfo(error="output.invalid", message=message, retryable=False)
        )

    def _failed(self, job: Job, error: ErrorInfo) -> FailAttempt:
        # No store keeps NUL in text (PostgreSQL refuses it): an action's message may hold one.
        if "\x00" in error.error or "\x00" in error.message:
            error = msgspec.structs.replace(
                error,
                error=error.error.replace("\x00", "\\u0000"),
                message=error.message.replace("\x00", "\\u0000"),
            )
        return FailAttempt(
            step_id=job.step_id,
            attempt=job.attempt,
            error=error,
            random_fraction=self._entropy.fraction(),
        )

    async def _keep_lease(self, job: Job) -> None:
        """Extend the attempt's lease while the action runs, so no one takes it as lost."""
        interval = self._transitions.settings.lease / 3
        command = ExtendLease(step_id=job.step_id, attempt=job.attempt)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._transitions.apply(job.run_id, command)
            except Exception:  # the next beat may get through; the lease has slack for it
                log.warning("could not extend the lease", extra={"run_id": job.run_id})
