"""What can be asked of a run. Each command is decided by ``machine.decide``."""

from __future__ import annotations

from typing import Any

import msgspec

from wfa.domain.events import ErrorInfo, ParentLink


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the commands a run accepts."""


class Create(Command, frozen=True, kw_only=True):
    run_id: str
    workflow_id: str
    workflow_version: int
    input: Any = None
    trigger: str = "manual"
    idempotency_key: str | None = None
    parent: ParentLink | None = None
    scope: str | None = None
    item: Any = None
    depth: int = 0
    run_budget: int | None = None
    handles_failure: bool = False


class Start(Command, frozen=True, kw_only=True):
    """Move a pending run to its first step."""


class _AttemptCommand(Command, frozen=True, kw_only=True):
    """Commands about one attempt; stale or duplicate ones are ignored, never an error."""

    step_id: str
    attempt: int


class BeginAttempt(_AttemptCommand, frozen=True, kw_only=True):
    """A worker claims a queued attempt before running its action."""


class ExtendLease(_AttemptCommand, frozen=True, kw_only=True):
    """The worker running the attempt is alive: push its deadline forward."""


class CompleteAttempt(_AttemptCommand, frozen=True, kw_only=True):
    output: Any = None


class FailAttempt(_AttemptCommand, frozen=True, kw_only=True):
    error: ErrorInfo
    random_fraction: float = 0.0  # in [0, 1): drives full jitter, handed in by the caller


class EndChild(_AttemptCommand, frozen=True, kw_only=True):
    """A child of the step's attempt ended: ``error`` None when it succeeded."""

    index: int
    error: ErrorInfo | None = None
    random_fraction: float = 0.0


class Join(_AttemptCommand, frozen=True, kw_only=True):
    """Every child of the step's attempt ended: here are their outputs, by index.

    ``outputs[i]`` is child i's output (None for a child that failed).
    """

    outputs: tuple[Any, ...]
    errors: tuple[ErrorInfo | None, ...]  # errors[i]: child i's error, None if it succeeded
    # The children could not be created, or their outputs joined (too large): the step fails.
    error: ErrorInfo | None = None


class SendSignal(Command, frozen=True, kw_only=True):
    """Deliver a signal: an await step waiting for ``name`` takes it, else the inbox keeps it."""

    name: str
    payload: Any = None
    key: str | None = None


class OfferEvent(Command, frozen=True, kw_only=True):
    """A published event: the run's await step takes it if it waits for one of this name
    whose ``match`` holds; else nothing happens (it was not for this run)."""

    name: str
    payload: Any = None
    event_id: str


class ResolveCallback(_AttemptCommand, frozen=True, kw_only=True):
    """A task's callback was used: it succeeds with ``output``, or fails with ``error``."""

    output: Any = None
    error: ErrorInfo | None = None
    random_fraction: float = 0.0


class Wake(Command, frozen=True, kw_only=True):
    """A durable timer came due: retry backoff, wait, attempt deadline or redelivery."""

    random_fraction: float = 0.0


class Cancel(Command, frozen=True, kw_only=True):
    reason: str = ""
    # Sent by the engine for a parent that no longer needs its children, started or not.
    by_parent: bool = False


class Resume(Command, frozen=True, kw_only=True):
    """Go on with a failed run from the step that failed it."""


RunCommand = (
    Create
    | Start
    | BeginAttempt
    | ExtendLease
    | CompleteAttempt
    | FailAttempt
    | EndChild
    | Join
    | SendSignal
    | OfferEvent
    | ResolveCallback
    | Wake
    | Cancel
    | Resume
)
