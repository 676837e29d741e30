"""What the API sends and receives, as msgspec Structs (also the OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from wfa.application.use_cases.queries import RunDetails
from wfa.application.webhook_secrets import PLACEHOLDER
from wfa.domain.events import ErrorInfo, RunEvent
from wfa.domain.run import AttemptStatus, Run, RunStatus
from wfa.domain.timeline import AttemptRecord
from wfa.domain.workflow import Workflow

REDACTED = PLACEHOLDER


class WorkflowOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    version: int
    created_at: datetime
    definition: dict[str, Any]


class ScheduleOut(msgspec.Struct, frozen=True, kw_only=True):
    cron: str
    timezone: str
    overlap: str
    next_fire_at: datetime
    last_fire_at: datetime | None
    last_run_id: str | None
    buffered_fire_at: datetime | None  # a fire held by buffer_one until the last run ends


class ScheduleList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ScheduleOut]


class WorkflowPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[WorkflowOut]
    next_cursor: str | None = None


class StartRunIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    input: Any = None


class RunAccepted(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    created: bool = True


class ParentOut(msgspec.Struct, frozen=True, kw_only=True):
    """The run, step and attempt that started this run; ``index``: its branch or item."""

    run_id: str
    step_id: str
    attempt: int
    index: int
    kind: str  # branch | iteration | workflow | on_failure (the run that failed)


class FanOut(msgspec.Struct, frozen=True, kw_only=True):
    """The children of the current parallel, map or workflow step's attempt, counted."""

    step_id: str
    attempt: int
    total: int
    started: int
    running: int
    succeeded: int
    failed: int


class AwaitingOut(msgspec.Struct, frozen=True, kw_only=True):
    """What a waiting run waits for: an await step's ``signal`` or ``event``, or a task's
    callback (both null), until when."""

    step_id: str
    attempt: int
    signal: str | None
    until: datetime | None
    event: str | None = None


class RunOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    workflow_id: str
    workflow_version: int
    status: RunStatus
    trigger: str
    input: Any
    output: Any
    error: ErrorInfo | None
    failed_step: str | None
    current_step: str | None
    created_at: datetime
    updated_at: datetime
    wake_at: datetime | None
    parent: ParentOut | None = None
    fan: FanOut | None = None
    awaiting: AwaitingOut | None = None
    deadline: datetime | None = None  # the workflow's timeout: the run fails after it
    pending_signals: int = 0  # signals kept that no await step has taken yet


class ChildPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[RunOut]
    next_cursor: str | None = None


class AttemptOut(msgspec.Struct, frozen=True, kw_only=True):
    attempt: int
    try_number: int
    status: AttemptStatus
    scheduled_at: datetime
    due_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration: float | None
    error: ErrorInfo | None
    output: Any
    awaited: str | None = None  # "signal 'name'" or "callback": what the attempt waited for


class StepOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    attempts: list[AttemptOut]


class RunDetailOut(RunOut, frozen=True, kw_only=True):
    steps: list[StepOut]


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[RunOut]
    next_cursor: str | None = None


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a run's history; pass ``next_cursor`` back as ``after_seq`` for the next."""

    items: list[RunEvent]
    next_cursor: str | None = None


class WaitedRun(msgspec.Struct, frozen=True, kw_only=True):
    """A webhook answered with ``?wait``: the run ended in time."""

    run_id: str
    status: RunStatus
    output: Any
    error: ErrorInfo | None


class StreamEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One Server-Sent Event of a run's stream (documentation only: the stream is text)."""

    event: str  # the history event's type, e.g. "step.failed"
    id: str  # its seq; send it back as Last-Event-ID to go on from there
    data: str  # the history event as JSON


class SignalOut(msgspec.Struct, frozen=True, kw_only=True):
    """A signal delivered: ``seq`` is its ``signal.received`` event; ``taken_by`` the await
    step that took it at once (null: it waits in the run's inbox for a step to come);
    ``duplicate``: its Idempotency-Key was received before, and nothing was recorded again."""

    run_id: str
    signal: str
    seq: int
    taken_by: str | None = None
    duplicate: bool = False


class CallbackFailIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The error a callback reports: the step fails with it (its retry and catch apply)."""

    error: str
    message: str = ""


class CallbackOut(msgspec.Struct, frozen=True, kw_only=True):
    """The run a callback resumed, as it is now."""

    run_id: str
    step_id: str
    status: RunStatus


class CancelIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str = ""


class HealthOut(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    checks: dict[str, str] = {}


def workflow_out(workflow: Workflow) -> WorkflowOut:
    definition = workflow.definition.to_builtins()
    for trigger in definition.get("triggers", []):
        if trigger.get("secret"):
            trigger["secret"] = REDACTED  # never read back; sent back, it keeps the secret
    return WorkflowOut(
        id=workflow.id,
        name=workflow.name,
        version=workflow.version,
        created_at=workflow.created_at,
        definition=definition,
    )


def run_out(run: Run) -> RunOut:
    return RunOut(**_run_fields(run))


def _run_fields(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "workflow_version": run.workflow_version,
        "status": run.status,
        "trigger": run.trigger,
        "input": run.input,
        "output": run.output,
        "error": run.error,
        "failed_step": run.failed_step,
        "current_step": run.current_step,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "wake_at": run.wake_at,
        "parent": _parent_out(run),
        "fan": _fan_out(run),
        "awaiting": _awaiting_out(run),
        "deadline": None if run.status.is_terminal else run.deadline,
        "pending_signals": len(run.inbox),
    }


def _awaiting_out(run: Run) -> AwaitingOut | None:
    attempt = run.attempt
    if attempt is None or attempt.status is not AttemptStatus.AWAITING:
        return None
    return AwaitingOut(
        step_id=attempt.step_id,
        attempt=attempt.number,
        signal=attempt.signal,
        until=attempt.wake_at,
        event=attempt.event,
    )


def _parent_out(run: Run) -> ParentOut | None:
    link = run.parent
    if link is None:
        return None
    return ParentOut(
        run_id=link.run_id,
        step_id=link.step_id,
        attempt=link.attempt,
        index=link.index,
        kind=link.kind,
    )


def _fan_out(run: Run) -> FanOut | None:
    fan = run.fan
    if fan is None:
        return None
    return FanOut(
        step_id=fan.step_id,
        attempt=fan.attempt,
        total=fan.total,
        started=fan.started,
        running=fan.running,
        succeeded=fan.succeeded,
        failed=fan.failed,
    )


def run_detail_out(details: RunDetails) -> RunDetailOut:
    steps: dict[str, list[AttemptOut]] = {}
    for record in details.attempts:
        steps.setdefault(record.step_id, []).append(_attempt_out(record))
    return RunDetailOut(
        **_run_fields(details.run),
        steps=[StepOut(id=step_id, attempts=attempts) for step_id, attempts in steps.items()],
    )


def _attempt_out(record: AttemptRecord) -> AttemptOut:
    return AttemptOut(
        attempt=record.attempt,
        try_number=record.try_number,
        status=record.status,
        scheduled_at=record.scheduled_at,
        due_at=record.due_at,
        started_at=record.started_at,
        ended_at=record.ended_at,
        duration=record.duration,
        error=record.error,
        output=record.output,
        awaited=record.awaited,
    )
