"""Read models over a run's history: every attempt of every task step, as users ask for it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
from msgspec.structs import replace

from wfa.domain.events import (
    AttemptFailed,
    AttemptQueued,
    AttemptScheduled,
    AttemptStarted,
    AttemptSucceeded,
    AwaitStarted,
    ErrorInfo,
    Event,
    FanOpened,
    RunCancelled,
    RunFailed,
)
from wfa.domain.run import AttemptStatus

_OPEN = (
    AttemptStatus.SCHEDULED,
    AttemptStatus.QUEUED,
    AttemptStatus.RUNNING,
    AttemptStatus.AWAITING,
)


class AttemptRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt of a task step, from its scheduling to its outcome."""

    step_id: str
    attempt: int
    try_number: int
    status: AttemptStatus
    scheduled_at: datetime
    due_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: ErrorInfo | None = None
    output: Any = None
    # What the attempt waited for: "signal 'name'" or "event 'name'" (an await step), or
    # "callback" (a task's).
    awaited: str | None = None
    deadline: datetime | None = None  # until when it waited

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, once both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


def attempts(history: Iterable[Event]) -> list[AttemptRecord]:
    """Every attempt in the order it was scheduled."""
    records: dict[tuple[str, int], AttemptRecord] = {}
    for event in history:
        if isinstance(event, AttemptScheduled):
            status = AttemptStatus.QUEUED if event.due_at <= event.at else AttemptStatus.SCHEDULED
            records[(event.step_id, event.attempt)] = AttemptRecord(
                step_id=event.step_id,
                attempt=event.attempt,
                try_number=event.try_number,
                status=status,
                scheduled_at=event.at,
                due_at=event.due_at,
            )
        elif isinstance(
            event,
            AttemptQueued
            | AttemptStarted
            | FanOpened
            | AwaitStarted
            | AttemptSucceeded
            | AttemptFailed,
        ):
            key = (event.step_id, event.attempt)
            records[key] = _advance(records[key], event)
        elif isinstance(event, RunCancelled | RunFailed):
            # The run ended under an open attempt (cancelled, or out of history budget):
            # whatever that attempt reports later is ignored.
            for key, record in records.items():
                if record.status in _OPEN:
                    records[key] = replace(
                        record, status=AttemptStatus.CANCELLED, ended_at=event.at
                    )
    return list(records.values())


def _advance(
    record: AttemptRecord,
    event: AttemptQueued
    | AttemptStarted
    | FanOpened
    | AwaitStarted
    | AttemptSucceeded
    | AttemptFailed,
) -> AttemptRecord:
    if isinstance(event, AwaitStarted):
        awaited = "callback"
        if event.signal is not None:
            awaited = f"signal {event.signal!r}"
        elif event.event is not None:
            awaited = f"event {event.event!r}"
        return replace(
            record,
            status=AttemptStatus.AWAITING,
            started_at=record.started_at or event.at,
            awaited=awaited,
            deadline=event.deadline,
        )
    if isinstance(event, AttemptQueued):
        return replace(record, status=AttemptStatus.QUEUED)
    if isinstance(event, AttemptStarted | FanOpened):  # a fan's attempt starts its children
        return replace(record, status=AttemptStatus.RUNNING, started_at=event.at)
    if isinstance(event, AttemptSucceeded):
        return replace(
            record, status=AttemptStatus.SUCCEEDED, ended_at=event.at, output=event.output
        )
    return replace(record, status=AttemptStatus.FAILED, ended_at=event.at, error=event.error)
