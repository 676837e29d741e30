"""The run: its state, and how each history event changes it (``evolve``).

State changes only through events. ``replay(history)`` rebuilds a run from nothing, which is
how the property tests prove that the history tells the whole story.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
from msgspec.structs import replace

from wfa.domain.events import (
    AttemptFailed,
    AttemptLeaseExtended,
    AttemptQueued,
    AttemptScheduled,
    AttemptStarted,
    AttemptSucceeded,
    AwaitStarted,
    ChildEnded,
    ChildrenStarted,
    ChoiceMade,
    ErrorInfo,
    Event,
    FanOpened,
    ParentLink,
    RunCancelled,
    RunCreated,
    RunFailed,
    RunResumed,
    RunStarted,
    RunSucceeded,
    SignalConsumed,
    SignalReceived,
    StepCaught,
    WaitEnded,
    WaitStarted,
)


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class AttemptStatus(StrEnum):
    SCHEDULED = "scheduled"  # decided, due later (a retry's backoff)
    QUEUED = "queued"  # due; its job is on the queue
    RUNNING = "running"  # a worker holds it until its deadline
    AWAITING = "awaiting"  # an await step's signal, or a task's callback, until its deadline
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """The current attempt of the run's current task step."""

    step_id: str
    number: int  # counts every attempt of this step in the run: (run, step, number) is unique
    try_number: int  # counts attempts since the step was entered: what the retry policy limits
    status: AttemptStatus
    due_at: datetime
    # When the engine looks at this attempt again if nothing else happens; None for a
    # parallel, map or workflow step's running attempt, which its children's ends move.
    wake_at: datetime | None
    started_at: datetime | None = None
    signal: str | None = None  # the signal an awaiting attempt of an await step waits for
    event: str | None = None  # or the published event it waits for


class Signal(msgspec.Struct, frozen=True, kw_only=True):
    """A signal in the run's inbox: received as event ``seq``, not taken by a step yet."""

    seq: int
    name: str
    payload: Any = None


class Fan(msgspec.Struct, frozen=True, kw_only=True):
    """The children of the current parallel, map or workflow step's attempt, counted.

    Children are created at once, ``started`` of them in index order, at most ``limit``
    running at a time; what each one did is kept in its own run, not here, so recording a
    child's end touches a bounded amount of the parent whatever the number of children.
    """

    step_id: str
    attempt: int
    total: int
    limit: int
    tolerated: int  # failures the step survives; -1: all of them
    started: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    first_error: ErrorInfo | None = None

    @property
    def ended(self) -> int:
        return self.succeeded + self.failed

    @property
    def unfinished(self) -> int:
        return self.total - self.ended


class Run(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    workflow_id: str
    workflow_version: int
    status: RunStatus
    input: Any
    trigger: str
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    seq: int  # events so far; the version a writer must still see to save its change
    parent: ParentLink | None = None
    scope: str | None = None  # the part of the definition a branch or iteration follows
    item: Any = None
    depth: int = 0
    run_budget: int | None = None  # runs it may create under it; None: the engine's
    handles_failure: bool = False  # an error workflow's run, or under one: starts none
    fan: Fan | None = None
    # Events that count a fan's children (fan.started, fan.child_ended): bounded by the
    # items (WFA_MAX_MAP_ITEMS), so they are not charged to the history budget.
    fan_events: int = 0
    deadline: datetime | None = None  # the definition's timeout: the run fails after it
    inbox: tuple[Signal, ...] = ()
    current_step: str | None = None
    attempt: Attempt | None = None
    wait_until: datetime | None = None
    outputs: dict[str, Any] = {}
    caught: dict[str, ErrorInfo] = {}
    failures: dict[str, list[Any]] = {}  # a map step's tolerated failures: [{index, error}]
    attempt_counts: dict[str, int] = {}
    last_output: Any = None
    output: Any = None
    error: ErrorInfo | None = None
    failed_step: str | None = None

    @property
    def budgeted_events(self) -> int:
        """The events charged to the run's history budget."""
        return self.seq - self.fan_events

    @property
    def wake_at(self) -> datetime | None:
        """The one time this run needs the engine again without a job: its durable timer."""
        if self.status.is_terminal:
            return None
        own = self.attempt.wake_at if self.attempt is not None else self.wait_until
        if self.deadline is not None and (own is None or self.deadline < own):
            return self.deadline
        return own

    @property
    def awaiting_event(self) -> str | None:
        """The published event the run's await step waits for now, if it waits for one."""
        attempt = self.attempt
        if self.status.is_terminal or attempt is None:
            return None
        return attempt.event if attempt.status is AttemptStatus.AWAITING else None

    def waiting_signal(self, name: str) -> Signal | None:
        """The oldest signal called ``name`` in the inbox."""
        return next((signal for signal in self.inbox if signal.name == name), None)

    def context(self) -> dict[str, Any]:
        """The data templates and conditions read: input, step outputs (and caught errors), run."""
        steps: dict[str, dict[str, Any]] = {
            sid: {"output": out} for sid, out in self.outputs.items()
        }
        for step_id, error in self.caught.items():
            steps.setdefault(step_id, {})["error"] = msgspec.to_builtins(error)
        for step_id, failures in self.failures.items():
            steps.setdefault(step_id, {})["errors"] = failures
        attempt = self.attempt.try_number if self.attempt is not None else None
        run: dict[str, Any] = {"id": self.id, "workflow_id": self.workflow_id, "attempt": attempt}
        context = {"input": self.input, "steps": steps, "run": run}
        if self.parent is not None:
            run["parent_run_id"] = self.parent.run_id
            if self.parent.kind == "iteration":
                context["item"], context["index"] = self.item, self.parent.index
        return context


def evolve(run: Run | None, event: Event) -> Run:
    """The run after ``event``. Pure; the only way a run's state ever changes."""
    if isinstance(event, RunCreated):
        return _created(event)
    if run is None:
        raise ValueError(f"history must begin with run.created, not {type(event).__name__}")
    changed = _apply(run, event)
    return replace(changed, seq=event.seq, updated_at=event.at)


def replay(history: Iterable[Event]) -> Run:
    """Rebuild a run from its whole history."""
    run: Run | None = None
    for event in history:
        run = evolve(run, event)
    if run is None:
        raise ValueError("an empty history holds no run")
    return run


def _created(event: RunCreated) -> Run:
    return Run(
        id=event.run_id,
        workflow_id=event.workflow_id,
        workflow_version=event.workflow_version,
        status=RunStatus.PENDING,
        input=event.input,
        trigger=event.trigger,
        idempotency_key=event.idempotency_key,
        parent=event.parent,
        scope=event.scope,
        item=event.item,
        depth=event.depth,
        run_budget=event.run_budget,
        handles_failure=event.handles_failure,
        created_at=event.at,
        updated_at=event.at,
        seq=event.seq,
    )


def _apply(run: Run, event: Event) -> Run:
    match event:
        case RunStarted():
            return replace(run, status=RunStatus.RUNNING, deadline=event.deadline)
        case AttemptScheduled():
            return _scheduled(run, event)
        case AttemptQueued():
            return _with_attempt(run, status=AttemptStatus.QUEUED, wake_at=event.wake_at)
        case AttemptStarted():
            return _with_attempt(
                run, status=AttemptStatus.RUNNING, wake_at=event.deadline, started_at=event.at
            )
        case AttemptLeaseExtended():
            return _with_attempt(run, wake_at=event.deadline)
        case AttemptSucceeded():
            outputs = {**run.outputs, event.step_id: event.output}
            caught = {k: v for k, v in run.caught.items() if k != event.step_id}
            failures = {k: v for k, v in run.failures.items() if k != event.step_id}
            if event.errors:
                failures[event.step_id] = event.errors
            return replace(
                run,
                attempt=None,
                fan=None,
                outputs=outputs,
                caught=caught,
                failures=failures,
                last_output=event.output,
            )
        case AttemptFailed():
            return replace(run, attempt=None, fan=None)
        case FanOpened():
            fan = Fan(
                step_id=event.step_id,
                attempt=event.attempt,
                total=event.total,
                limit=event.limit,
                tolerated=event.tolerated,
            )
            run = _with_attempt(
                run, status=AttemptStatus.RUNNING, wake_at=None, started_at=event.at
            )
            return replace(run, fan=fan)
        case ChildrenStarted():
            fan = _fan(run)
            running = fan.running + event.upto - fan.started
            fan = replace(fan, started=event.upto, running=running)
            return replace(run, fan=fan, fan_events=run.fan_events + 1)
        case ChildEnded():
            fan = _child_ended(_fan(run), event.error)
            return replace(run, fan=fan, fan_events=run.fan_events + 1)
        case SignalReceived():
            signal = Signal(seq=event.seq, name=event.name, payload=event.payload)
            return replace(run, inbox=(*run.inbox, signal))
        case AwaitStarted():
            run = _with_attempt(
                run,
                status=AttemptStatus.AWAITING,
                wake_at=event.deadline,
                signal=event.signal,
                event=event.event,
            )
            return replace(run, status=RunStatus.WAITING)
        case SignalConsumed():
            inbox = tuple(signal for signal in run.inbox if signal.seq != event.signal_seq)
            return replace(run, inbox=inbox)
        case StepCaught():
            return replace(run, caught={**run.caught, event.step_id: event.error})
        case ChoiceMade():
            return replace(run, current_step=event.step_id)
        case WaitStarted():
            return replace(
                run, status=RunStatus.WAITING, current_step=event.step_id, wait_until=event.until
            )
        case WaitEnded():
            return replace(run, status=RunStatus.RUNNING, wait_until=None)
        case RunSucceeded():
            return _ended(run, RunStatus.SUCCEEDED, output=event.output)
        case RunFailed():
            return _ended(run, RunStatus.FAILED, error=event.error, failed_step=event.step_id)
        case RunCancelled():
            return _ended(run, RunStatus.CANCELLED)
        case RunResumed():
            return replace(
                run,
                status=RunStatus.RUNNING,
                error=None,
                failed_step=None,
                output=None,
                deadline=event.deadline,
            )
    raise ValueError(f"unknown event {type(event).__name__}")


def _scheduled(run: Run, event: AttemptScheduled) -> Run:
    due_now = event.due_at <= event.at
    attempt = Attempt(
        step_id=event.step_id,
        number=event.attempt,
        try_number=event.try_number,
        status=AttemptStatus.QUEUED if due_now else AttemptStatus.SCHEDULED,
        due_at=event.due_at,
        wake_at=event.wake_at,
    )
    counts = {**run.attempt_counts, event.step_id: event.attempt}
    status = RunStatus.RUNNING if due_now else RunStatus.WAITING
    return replace(
        run, status=status, current_step=event.step_id, attempt=attempt, attempt_counts=counts
    )


def _fan(run: Run) -> Fan:
    assert run.fan is not None, "fan events follow fan.opened"
    return run.fan


def _child_ended(fan: Fan, error: ErrorInfo | None) -> Fan:
    if error is None:
        return replace(fan, running=fan.running - 1, succeeded=fan.succeeded + 1)
    first = fan.first_error if fan.first_error is not None else error
    return replace(fan, running=fan.running - 1, failed=fan.failed + 1, first_error=first)


def _with_attempt(run: Run, **changes: Any) -> Run:
    assert run.attempt is not None, "attempt events follow step.scheduled"
    status = RunStatus.RUNNING
    return replace(run, status=status, attempt=replace(run.attempt, **changes))


def _ended(run: Run, status: RunStatus, **changes: Any) -> Run:
    return replace(
        run, status=status, attempt=None, fan=None, wait_until=None, current_step=None, **changes
    )
