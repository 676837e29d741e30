"""Attempts that wait for the world instead of a worker: await steps and task callbacks.

An await step's attempt waits for a signal by name until its deadline; a signal that came
earlier waits in the run's inbox (``run.inbox``) and is taken as soon as the step starts,
oldest first. A task with a ``callback`` runs its action like any task, then waits until its
callback is used (``ResolveCallback``) or its deadline passes. Either way the wait is an
attempt of the step, so a timeout is an error like any other: retried by the step's policy,
caught by its catchers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wfa.domain.commands import CompleteAttempt, OfferEvent, ResolveCallback, SendSignal
from wfa.domain.definition import AwaitStep, TaskStep
from wfa.domain.errors import ExpressionError, InvalidPayload, Refusal
from wfa.domain.events import (
    AttemptSucceeded,
    AwaitStarted,
    ErrorInfo,
    SignalConsumed,
    SignalReceived,
)
from wfa.domain.expressions import condition_holds
from wfa.domain.payload_schema import payload_problems
from wfa.domain.run import AttemptStatus, Run, Signal

if TYPE_CHECKING:
    from wfa.domain.progress import Progress

AWAIT_TIMEOUT = "await.timeout"
CALLBACK_TIMEOUT = "callback.timeout"
INVALID_PAYLOAD = "await.invalid_payload"
INBOX_FULL = "signal.inbox_full"
RUN_ENDED = "run.ended"
CALLBACK_USED = "callback.used"
EVENT_KEY_PREFIX = "event:"
"""An event taken by a run is recorded as a signal whose key is this and the event's id: an
event offered again is known, as a signal sent again with its key is."""


def enter_await(progress: Progress, step: AwaitStep, number: int) -> None:
    """The await step's attempt is due: wait for its signal (or take one already here), or
    for its event (only those published from now on count)."""
    deadline = progress.now + timedelta(seconds=step.timeout)
    progress.record(
        AwaitStarted,
        step_id=step.id,
        attempt=number,
        deadline=deadline,
        signal=step.signal,
        event=step.event,
    )
    waiting = progress.run.waiting_signal(step.signal) if step.signal is not None else None
    if waiting is not None:
        _take(progress, step, waiting)


def offer_event(progress: Progress, command: OfferEvent) -> None:
    """A published event: taken when the run's await step waits for it and its ``match``
    holds; otherwise it was not for this run and nothing is recorded."""
    run, now = progress.run, progress.now
    attempt = run.attempt
    if run.awaiting_event != command.name or attempt is None:
        return
    if attempt.wake_at is not None and attempt.wake_at <= now:
        return  # its time is up: the timeout wins
    step = progress.definition.step(attempt.step_id)
    assert isinstance(step, AwaitStep)
    if not progress.room_to_go_on() or not _matches(progress, step, command.payload):
        return
    key = f"{EVENT_KEY_PREFIX}{command.event_id}"
    progress.record(SignalReceived, name=command.name, payload=command.payload, key=key)
    _take(progress, step, progress.run.inbox[-1])


def _matches(progress: Progress, step: AwaitStep, payload: Any) -> bool:
    if step.schema is not None and payload_problems(step.schema, payload):
        return False
    if step.match is None:
        return True
    context = {**progress.run.context(), "event": payload}
    try:
        return condition_holds(step.match, context, progress.costs)
    except ExpressionError:  # not this run's event, whatever went wrong in telling
        return False


def receive_signal(progress: Progress, command: SendSignal) -> None:
    """Keep a signal in the run's inbox, and hand it to the await step waiting for it.

    Refused (nothing recorded) when the run has ended, when its inbox is full, when its
    history has no room left, or when the waiting step's schema does not fit the payload.
    """
    run = progress.run
    if run.status.is_terminal:
        raise Refusal(RUN_ENDED, f"the run is {run.status}; it takes no more signals")
    most = progress.settings.max_pending_signals
    if len(run.inbox) >= most:
        raise Refusal(
            INBOX_FULL,
            f"the run holds {most} signals no step has taken yet (WFA_MAX_PENDING_SIGNALS)",
        )
    if not progress.room_to_go_on():
        raise Refusal(
            "run.history_limit", f"the run's history is at its limit of {progress.budget} events"
        )
    step = awaited_step(progress, command.name)
    if step is not None and step.schema is not None:
        problems = payload_problems(step.schema, command.payload)
        if problems:
            raise InvalidPayload(problems)
    progress.record(SignalReceived, name=command.name, payload=command.payload, key=command.key)
    if step is not None:
        _take(progress, step, progress.run.inbox[-1])


def awaited_step(progress: Progress, signal: str) -> AwaitStep | None:
    """The await step whose attempt waits for ``signal`` right now, if one does."""
    attempt = progress.run.attempt
    if attempt is None or attempt.status is not AttemptStatus.AWAITING:
        return None
    if attempt.signal != signal:
        return None
    if attempt.wake_at is not None and attempt.wake_at <= progress.now:
        return None  # its time is up: the timeout wins, the signal stays for a retry
    step = progress.definition.step(attempt.step_id)
    return step if isinstance(step, AwaitStep) else None


def _take(progress: Progress, step: AwaitStep, signal: Signal) -> None:
    attempt = progress.run.attempt
    assert attempt is not None
    progress.record(SignalConsumed, step_id=step.id, attempt=attempt.number, signal_seq=signal.seq)
    problems = payload_problems(step.schema, signal.payload) if step.schema else []
    if problems:  # it came before the step said what it wants: the step fails on it
        message = "the signal's payload does not fit the step's schema: " + "; ".join(
            map(str, problems)
        )
        error = ErrorInfo(error=INVALID_PAYLOAD, message=message, retryable=False)
        progress.attempt_failed(error, 0.0)
        return
    progress.record(
        AttemptSucceeded, step_id=step.id, attempt=attempt.number, output=signal.payload
    )
    progress.go_to(progress.definition.following(step))


def callback_deadline(run: Run, step: TaskStep) -> datetime | None:
    """When the running or awaiting attempt of a task with a callback stops waiting for it."""
    attempt = run.attempt
    if step.callback is None or attempt is None or attempt.started_at is None:
        return None
    return attempt.started_at + timedelta(seconds=step.callback.timeout)


def await_callback(progress: Progress, step: TaskStep, command: CompleteAttempt) -> None:
    """The action of a task with a callback succeeded: the step now waits for its callback."""
    deadline = callback_deadline(progress.run, step)
    assert deadline is not None
    if deadline <= progress.now:  # the action itself took the callback's whole time
        progress.attempt_failed(wait_timed_out(step), 0.0)
        return
    progress.record(
        AwaitStarted,
        step_id=step.id,
        attempt=command.attempt,
        deadline=deadline,
        action_output=command.output,
    )


def resolve_callback(progress: Progress, command: ResolveCallback) -> None:
    """A task's callback was used: the step ends with what was posted. Used once only."""
    run, now = progress.run, progress.now
    attempt = run.attempt
    live = (
        not run.status.is_terminal
        and attempt is not None
        and (attempt.step_id, attempt.number) == (command.step_id, command.attempt)
        and attempt.status in (AttemptStatus.RUNNING, AttemptStatus.AWAITING)
    )
    step = progress.definition.step(command.step_id) if live else None
    deadline = callback_deadline(run, step) if isinstance(step, TaskStep) else None
    if not isinstance(step, TaskStep) or deadline is None or deadline <= now:
        raise Refusal(
            CALLBACK_USED, "this callback was used already, or its step is over (timed out)"
        )
    if command.error is not None:
        progress.attempt_failed(command.error, command.random_fraction)
        return
    progress.record(
        AttemptSucceeded, step_id=step.id, attempt=command.attempt, output=command.output
    )
    progress.go_to(progress.definition.following(step))


def wait_timed_out(step: AwaitStep | TaskStep) -> ErrorInfo:
    """The error of an awaiting attempt whose deadline passed."""
    if isinstance(step, AwaitStep):
        what = f"signal {step.signal!r}" if step.signal else f"event {step.event!r}"
        message = f"no {what} came within {step.timeout:g}s"
        return ErrorInfo(error=AWAIT_TIMEOUT, message=message)
    timeout = step.callback.timeout if step.callback is not None else 0.0
    return ErrorInfo(
        error=CALLBACK_TIMEOUT, message=f"the callback was not used within {timeout:g}s"
    )
