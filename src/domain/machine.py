"""The run state machine: ``decide(definition, run, command, now)`` → what happened and what next.

A decision is pure: the same run, command and time give the same events. Events change the
state (through ``run.evolve``); jobs are what must be delivered to workers once the new state
is stored. An illegal command raises IllegalTransition and changes nothing; a stale or
duplicate attempt command is ignored (an empty decision), since queues deliver at least once.
A decision that fills the run's history budget ends the run with ``run.history_limit``.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from wfa.domain.awaiting import (
    RUN_ENDED,
    await_callback,
    callback_deadline,
    offer_event,
    receive_signal,
    resolve_callback,
    wait_timed_out,
)
from wfa.domain.commands import (
    BeginAttempt,
    Cancel,
    CompleteAttempt,
    Create,
    EndChild,
    ExtendLease,
    FailAttempt,
    Join,
    OfferEvent,
    ResolveCallback,
    Resume,
    RunCommand,
    SendSignal,
    Start,
    Wake,
)
from wfa.domain.definition import ATTEMPTED_STEPS, AwaitStep, Definition, FailStep, TaskStep
from wfa.domain.errors import IllegalTransition, Refusal
from wfa.domain.events import (
    AttemptLeaseExtended,
    AttemptStarted,
    AttemptSucceeded,
    ErrorInfo,
    RunCancelled,
    RunCreated,
    RunFailed,
    RunResumed,
    RunStarted,
    RunSucceeded,
    WaitEnded,
)
from wfa.domain.fan_out import end_child, join
from wfa.domain.progress import (
    HISTORY_LIMIT,
    Decision,
    EngineSettings,
    HistoryFull,
    Progress,
)
from wfa.domain.run import AttemptStatus, Run, RunStatus, evolve

DEFAULT_SETTINGS = EngineSettings()
RUN_TIMEOUT = "run.timeout"


def create(command: Create, now: datetime) -> Decision:
    """A new pending run: the first event of its history."""
    event = RunCreated(
        seq=1,
        at=now,
        run_id=command.run_id,
        workflow_id=command.workflow_id,
        workflow_version=command.workflow_version,
        input=command.input,
        trigger=command.trigger,
        idempotency_key=command.idempotency_key,
        parent=command.parent,
        scope=command.scope,
        item=command.item,
        depth=command.depth,
        run_budget=command.run_budget,
        handles_failure=command.handles_failure,
    )
    return Decision(run=evolve(None, event), events=(event,))


def carry(command: Create, output: Any, now: datetime) -> Decision:
    """A child created already ended: its place succeeded in the attempt its parent's resume
    goes on from, so it takes that output instead of running again."""
    created = create(command, now)
    ended = RunSucceeded(seq=2, at=now, output=output)
    return Decision(run=evolve(created.run, ended), events=(*created.events, ended))


def decide(
    definition: Definition,
    run: Run,
    command: RunCommand,
    now: datetime,
    settings: EngineSettings = DEFAULT_SETTINGS,
) -> Decision:
    """Decide one command against the run's current state."""
    progress = Progress(definition, run, now, settings)
    with suppress(HistoryFull):  # the run failed on its budget: that ending is the decision
        _apply(progress, command)
    return progress.decision()


# Commands that move a run along: past its deadline, the run fails instead.
_MOVING = (BeginAttempt, ExtendLease, CompleteAttempt, FailAttempt, EndChild, Join, Wake)


def _apply(progress: Progress, command: RunCommand) -> None:
    if _past_deadline(progress):
        if isinstance(command, _MOVING):
            _time_out(progress)
            return
        if isinstance(command, SendSignal | ResolveCallback):
            raise Refusal(RUN_ENDED, "the run is past its deadline (the workflow's timeout)")
        if isinstance(command, OfferEvent):
            return  # not taken: the run is as good as over
    match command:
        case Create():
            raise IllegalTransition(f"run {progress.run.id} already exists")
        case Start():
            _start(progress)
        case BeginAttempt():
            _begin(progress, command)
        case ExtendLease():
            _extend(progress, command)
        case CompleteAttempt():
            _complete(progress, command)
        case FailAttempt():
            _fail(progress, command)
        case EndChild():
            end_child(progress, command)
        case Join():
            join(progress, command)
        case SendSignal():
            receive_signal(progress, command)
        case OfferEvent():
            offer_event(progress, command)
        case ResolveCallback():
            resolve_callback(progress, command)
        case Wake():
            _wake(progress, command.random_fraction)
        case Cancel():
            _cancel(progress, command)
        case Resume():
            _resume(progress)


def _start(progress: Progress) -> None:
    if progress.run.status is not RunStatus.PENDING:
        raise IllegalTransition(f"run is {progress.run.status}, only a pending run can start")
    progress.record(RunStarted, deadline=_deadline(progress))
    progress.go_to(progress.definition.start.id)


def _deadline(progress: Progress) -> datetime | None:
    """When a run started (or resumed) now must have ended: the definition's ``timeout``."""
    timeout = progress.definition.timeout
    return None if timeout is None else progress.now + timedelta(seconds=timeout)


def _current(progress: Progress, step_id: str, number: int, *wanted: AttemptStatus) -> bool:
    attempt = progress.run.attempt
    return (
        attempt is not None
        and progress.run.fan is None  # a fan step's attempt is moved by its children only
        and attempt.step_id == step_id
        and attempt.number == number
        and attempt.status in wanted
    )


def _begin(progress: Progress, command: BeginAttempt) -> None:
    if not _current(progress, command.step_id, command.attempt, AttemptStatus.QUEUED):
        return
    step = progress.definition.step(command.step_id)
    assert isinstance(step, TaskStep)
    deadline = progress.now + timedelta(seconds=progress.settings.lease)
    for timeout in (step.timeout, step.callback.timeout if step.callback else None):
        if timeout is not None:
            deadline = min(deadline, progress.now + timedelta(seconds=timeout))
    current = progress.run.attempt
    assert current is not None
    progress.record(
        AttemptStarted,
        step_id=command.step_id,
        attempt=command.attempt,
        deadline=deadline,
        due_at=current.due_at,
    )


def _extend(progress: Progress, command: ExtendLease) -> None:
    if not _current(progress, command.step_id, command.attempt, AttemptStatus.RUNNING):
        return
    deadline = progress.now + timedelta(seconds=progress.settings.lease)
    limit = progress.running_limit()
    if limit is not None:
        deadline = min(deadline, limit)
    progress.record(
        AttemptLeaseExtended, step_id=command.step_id, attempt=command.attempt, deadline=deadline
    )


def _complete(progress: Progress, command: CompleteAttempt) -> None:
    if not _current(progress, command.step_id, command.attempt, AttemptStatus.RUNNING):
        return
    step = progress.definition.step(command.step_id)
    assert isinstance(step, TaskStep)
    if step.callback is not None:
        await_callback(progress, step, command)
        return
    progress.record(
        AttemptSucceeded, step_id=command.step_id, attempt=command.attempt, output=command.output
    )
    progress.go_to(progress.definition.following(step))


def _fail(progress: Progress, command: FailAttempt) -> None:
    # A failure can be reported before the attempt was claimed (its params did not render).
    states = (AttemptStatus.RUNNING, AttemptStatus.QUEUED)
    if not _current(progress, command.step_id, command.attempt, *states):
        return
    progress.attempt_failed(command.error, command.random_fraction)


def _wake(progress: Progress, random_fraction: float) -> None:
    run, now = progress.run, progress.now
    wake_at = run.wake_at
    if wake_at is None or wake_at > now:
        return
    if run.attempt is None:
        wait = progress.current_wait()
        progress.record(WaitEnded, step_id=wait.id)
        progress.go_to(progress.definition.following(wait))
        return
    attempt = run.attempt
    step = progress.definition.step(attempt.step_id)
    assert isinstance(step, ATTEMPTED_STEPS)
    if attempt.status in (AttemptStatus.SCHEDULED, AttemptStatus.QUEUED):
        if isinstance(step, TaskStep):
            progress.queue(attempt.step_id, attempt.number)
        else:
            progress.enter_due(step, attempt.number)  # its retry's backoff is over
        return
    timeout_at = progress.timeout_at()
    callback_at = callback_deadline(run, step) if isinstance(step, TaskStep) else None
    if attempt.status is AttemptStatus.AWAITING or (callback_at and callback_at <= now):
        assert isinstance(step, AwaitStep | TaskStep)
        error = wait_timed_out(step)
    elif timeout_at is not None and timeout_at <= now:
        error = ErrorInfo(error="step.timeout", message="the step ran longer than its timeout")
    else:
        error = ErrorInfo(
            error="worker.lost", message="the worker stopped reporting (lease expired)"
        )
    progress.attempt_failed(error, random_fraction)


def _cancel(progress: Progress, command: Cancel) -> None:
    run = progress.run
    status = run.status
    if status.is_terminal:
        raise IllegalTransition(f"run is already {status}; only an unfinished run can be cancelled")
    if run.parent is not None and status is RunStatus.PENDING and not command.by_parent:
        raise IllegalTransition(
            f"this run waits for run {run.parent.run_id} to start it; cancel that run instead"
        )
    progress.record(RunCancelled, reason=command.reason)


def _resume(progress: Progress) -> None:
    run = progress.run
    if run.status is not RunStatus.FAILED:
        raise IllegalTransition(f"run is {run.status}; only a failed run can be retried")
    if run.parent is not None and run.parent.wait:
        # Its parent counted its failure already: retry the parent, which runs it anew.
        raise IllegalTransition(
            f"this run is part of run {run.parent.run_id}; retry that run instead"
        )
    step_id = run.failed_step
    if step_id is None or isinstance(progress.definition.step(step_id), FailStep):
        raise IllegalTransition("the run ended at a fail step; there is no failed step to retry")
    # A run that used up its history would fail again at once: it cannot go on, only restart.
    # Resuming needs room for run.resumed, the step it enters, and an ending.
    spent = run.error is not None and run.error.error == HISTORY_LIMIT
    if spent or run.budgeted_events + 2 >= progress.budget:
        raise IllegalTransition(
            f"the run's history is at its limit of {progress.budget} events; "
            "it cannot be retried, start a new run"
        )
    progress.record(RunResumed, step_id=step_id, deadline=_deadline(progress))
    progress.resuming = step_id
    progress.go_to(step_id)


def _where(progress: Progress) -> str:
    """The step a run that ends now is at (a failed run always names one)."""
    return progress.run.current_step or progress.definition.start.id


def _past_deadline(progress: Progress) -> bool:
    run = progress.run
    deadline = run.deadline
    return deadline is not None and deadline <= progress.now and not run.status.is_terminal


def _time_out(progress: Progress) -> None:
    """The run's deadline passed: it fails, whatever it was doing (a fan it left is
    cancelled with the decision; a late outcome of its attempt will find it ended)."""
    message = "the run took longer than its workflow's timeout"
    if progress.definition.timeout is not None:
        message = f"the run took longer than its timeout of {progress.definition.timeout:g}s"
    error = ErrorInfo(error=RUN_TIMEOUT, message=message, retryable=False)
    progress.record(RunFailed, error=error, step_id=_where(progress))
