"""The run's history: every transition is recorded as one of these, in order, never changed.

Events are facts, decided once: they carry every time and value the decision computed (retry
due times, wait deadlines, outputs), so replaying them needs no definition, clock or randomness.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A named error: ``error`` is what retry and catch rules match (``http.timeout``...)."""

    error: str
    message: str = ""
    retryable: bool = True
    # Seconds the far side asked us to wait before trying again (HTTP Retry-After): a retry
    # waits at least this long, whatever the step's policy says.
    retry_after: float | None = None
    # What went wrong underneath: a child run's own error (``workflow.failed``...).
    cause: ErrorInfo | None = None


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    """Base of history events: ``seq`` counts from 1 within a run; ``at`` is when it happened."""

    seq: int
    at: datetime


class ParentLink(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Which step of which run started a child run, in which of its attempts, at which place.

    ``kind``: ``branch`` and ``iteration`` runs follow a part of their parent's definition
    (``scope``); a ``workflow`` run is a run of another workflow of its own.
    """

    run_id: str
    step_id: str
    attempt: int
    index: int
    kind: str
    wait: bool = True  # the parent waits for its end (else it went on at once)


class RunCreated(Event, tag="run.created", frozen=True, kw_only=True):
    run_id: str
    workflow_id: str
    workflow_version: int
    input: Any = None
    trigger: str = "manual"
    idempotency_key: str | None = None
    parent: ParentLink | None = None
    scope: str | None = None  # the step list it follows, for a branch or an iteration
    item: Any = None  # an iteration's item
    depth: int = 0  # how many parents it has
    # Runs it may create under it, all levels together; None: the engine's for a root run.
    run_budget: int | None = None
    # It handles another run's failure (an error workflow's run, or a run under one): its
    # own failure starts no error workflow, so error workflows cannot start each other.
    handles_failure: bool = False


class RunStarted(Event, tag="run.started", frozen=True, kw_only=True):
    deadline: datetime | None = None  # the definition's ``timeout`` from now: run.timeout after


class AttemptScheduled(Event, tag="step.scheduled", frozen=True, kw_only=True):
    """A task step's attempt is decided; due now (queued at once) or later (a retry backoff)."""

    step_id: str
    attempt: int
    try_number: int
    due_at: datetime
    wake_at: datetime


class AttemptQueued(Event, tag="step.queued", frozen=True, kw_only=True):
    """A due attempt's job was (re)sent to the queue; look again at ``wake_at`` if unstarted."""

    step_id: str
    attempt: int
    wake_at: datetime


class AttemptStarted(Event, tag="step.started", frozen=True, kw_only=True):
    """A worker took the attempt; it is given up at ``deadline`` (step timeout or lease)."""

    step_id: str
    attempt: int
    deadline: datetime
    # When the attempt was due: the start's lateness is the queue's lag, whichever process
    # scheduled it. None in histories written before this field existed.
    due_at: datetime | None = None


class AttemptLeaseExtended(Event, tag="step.lease_extended", frozen=True, kw_only=True):
    step_id: str
    attempt: int
    deadline: datetime


class AttemptSucceeded(Event, tag="step.succeeded", frozen=True, kw_only=True):
    step_id: str
    attempt: int
    output: Any = None
    # A map step's tolerated failures, ``[{"index": i, "error": ...}]``: its output has null there.
    errors: list[Any] | None = None


class AttemptFailed(Event, tag="step.failed", frozen=True, kw_only=True):
    step_id: str
    attempt: int
    error: ErrorInfo


class StepCaught(Event, tag="step.caught", frozen=True, kw_only=True):
    """An error that is not retried (any more) was routed to the catcher's ``next`` step."""

    step_id: str
    error: ErrorInfo
    next: str


class FanOpened(Event, tag="fan.opened", frozen=True, kw_only=True):
    """A parallel, map or workflow step's attempt created its ``total`` children."""

    step_id: str
    attempt: int
    total: int
    limit: int  # children running at once at most
    tolerated: int  # child failures the step tolerates (-1: all of them)


class ChildrenStarted(Event, tag="fan.started", frozen=True, kw_only=True):
    """Children up to index ``upto`` (excluded) are started."""

    step_id: str
    attempt: int
    upto: int


class ChildEnded(Event, tag="fan.child_ended", frozen=True, kw_only=True):
    step_id: str
    attempt: int
    index: int
    error: ErrorInfo | None = None  # None: the child succeeded


class SignalReceived(Event, tag="signal.received", frozen=True, kw_only=True):
    """A signal came for the run: kept in its inbox until an await step takes it."""

    name: str
    payload: Any = None
    key: str | None = None  # the sender's idempotency key: the same key is received once


class AwaitStarted(Event, tag="await.started", frozen=True, kw_only=True):
    """The step's attempt waits for the signal ``signal``, the event ``event``, or when both
    are None for the task's callback (its action's output kept as ``action_output``), until
    ``deadline``."""

    step_id: str
    attempt: int
    deadline: datetime
    signal: str | None = None
    event: str | None = None  # an await for a published event (then ``signal`` is None)
    action_output: Any = None


class SignalConsumed(Event, tag="signal.consumed", frozen=True, kw_only=True):
    """The await step's attempt took the signal received as event ``signal_seq``."""

    step_id: str
    attempt: int
    signal_seq: int


class ChoiceMade(Event, tag="choice.made", frozen=True, kw_only=True):
    step_id: str
    next: str


class WaitStarted(Event, tag="wait.started", frozen=True, kw_only=True):
    step_id: str
    until: datetime


class WaitEnded(Event, tag="wait.ended", frozen=True, kw_only=True):
    step_id: str


class RunSucceeded(Event, tag="run.succeeded", frozen=True, kw_only=True):
    output: Any = None


class RunFailed(Event, tag="run.failed", frozen=True, kw_only=True):
    error: ErrorInfo
    step_id: str | None = None


class RunCancelled(Event, tag="run.cancelled", frozen=True, kw_only=True):
    reason: str = ""


class RunResumed(Event, tag="run.resumed", frozen=True, kw_only=True):
    """A failed run goes on from ``step_id``; steps that succeeded before are not run again."""

    step_id: str
    deadline: datetime | None = None  # a new one: the definition's ``timeout`` from now


RunEvent = (
    RunCreated
    | RunStarted
    | AttemptScheduled
    | AttemptQueued
    | AttemptStarted
    | AttemptLeaseExtended
    | AttemptSucceeded
    | AttemptFailed
    | StepCaught
    | FanOpened
    | ChildrenStarted
    | ChildEnded
    | SignalReceived
    | AwaitStarted
    | SignalConsumed
    | ChoiceMade
    | WaitStarted
    | WaitEnded
    | RunSucceeded
    | RunFailed
    | RunCancelled
    | RunResumed
)

TERMINAL_EVENTS = (RunSucceeded, RunFailed, RunCancelled)


def event_type(event: Event) -> str:
    """The tag an event is stored and streamed under (``step.failed``...)."""
    return str(event.__struct_config__.tag)
