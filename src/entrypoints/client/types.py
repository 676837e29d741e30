"""What the API answers, as the client reads it: msgspec Structs mirroring the API's JSON.

The fields and their order are the API's (``docs/api.md``), so encoding one of these again
gives the JSON the server sent; fields a newer server adds are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
RUN_STATUSES = ("pending", "running", "waiting", "succeeded", "failed", "cancelled")


class Workflow(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow at its latest version; ``definition`` as the server normalised it."""

    id: str
    name: str
    version: int
    created_at: datetime
    definition: dict[str, Any]


class WorkflowPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Workflow]
    next_cursor: str | None = None


class RunAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """A started run; ``created`` is false when an Idempotency-Key found an earlier one."""

    run_id: str
    created: bool = True


class RunError(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A named error: ``error`` is what retry and catch rules match (``http.timeout``...)."""

    error: str
    message: str = ""
    retryable: bool = True
    retry_after: float | None = None
    cause: RunError | None = None


class Parent(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    step_id: str
    attempt: int
    index: int
    kind: str


class Fan(msgspec.Struct, frozen=True, kw_only=True):
    step_id: str
    attempt: int
    total: int
    started: int
    running: int
    succeeded: int
    failed: int


class Awaiting(msgspec.Struct, frozen=True, kw_only=True):
    step_id: str
    attempt: int
    signal: str | None
    until: datetime | None
    event: str | None = None


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """A run's state; ``status`` is one of ``RUN_STATUSES``."""

    id: str
    workflow_id: str
    workflow_version: int
    status: str
    trigger: str
    input: Any
    output: Any
    error: RunError | None
    failed_step: str | None
    current_step: str | None
    created_at: datetime
    updated_at: datetime
    wake_at: datetime | None
    parent: Parent | None = None
    fan: Fan | None = None
    awaiting: Awaiting | None = None
    deadline: datetime | None = None
    pending_signals: int = 0

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    attempt: int
    try_number: int
    status: str
    scheduled_at: datetime
    due_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration: float | None
    error: RunError | None
    output: Any
    awaited: str | None = None


class Step(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    attempts: list[Attempt]


class RunDetail(Run, frozen=True, kw_only=True):
    """A run with every step and every attempt of each."""

    steps: list[Step]


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Run]
    next_cursor: str | None = None


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a run's history: each event a JSON object with ``type``, ``seq`` and ``at``."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None


class SignalDelivered(msgspec.Struct, frozen=True, kw_only=True):
    """``taken_by``: the await step that took it at once (None: it waits in the inbox);
    ``duplicate``: its Idempotency-Key was seen before and nothing was recorded again."""

    run_id: str
    signal: str
    seq: int
    taken_by: str | None = None
    duplicate: bool = False


class StreamedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One Server-Sent Event of a run's stream: a history event of that ``type``."""

    type: str
    seq: int
    data: dict[str, Any]

    @property
    def ends_run(self) -> bool:
        return self.type in ("run.succeeded", "run.failed", "run.cancelled")
