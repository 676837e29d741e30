"""Show a finished run as text: one row per attempt, choice and wait, then the result."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from wfa.application.use_cases.queries import RunDetails
from wfa.domain.events import AttemptScheduled, ChoiceMade, WaitEnded, WaitStarted
from wfa.domain.timeline import AttemptRecord

HEADER = ("STEP", "ATTEMPT", "STATUS", "AT", "DURATION", "DETAIL")


def render_run(details: RunDetails, workflow_name: str) -> str:
    run = details.run
    rows = _rows(details, run.created_at)
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER) - 1)]
    lines = [f"run {run.id}  workflow {workflow_name!r} v{run.workflow_version}", ""]
    for row in [HEADER, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  " + "  ".join([*cells, row[-1]]).rstrip())
    elapsed = (run.updated_at - run.created_at).total_seconds()
    lines += ["", f"{run.status} after {elapsed:.3f}s"]
    if run.error is not None:
        where = f" at step {run.failed_step!r}" if run.failed_step else ""
        message = f": {run.error.message}" if run.error.message else ""
        lines.append(f"error{where}: {run.error.error}{message}")
    else:
        lines.append("output: " + _json(run.output))
    return "\n".join(lines)


def _rows(details: RunDetails, origin: datetime) -> list[tuple[str, ...]]:
    """Rows in history order: an attempt where it was scheduled, a wait where it began."""
    records = {(record.step_id, record.attempt): record for record in details.attempts}
    wait_ends = {
        event.step_id: event.at for event in details.history if isinstance(event, WaitEnded)
    }
    rows = []
    for event in details.history:
        if isinstance(event, AttemptScheduled):
            rows.append(_attempt_row(records[(event.step_id, event.attempt)], origin))
        elif isinstance(event, ChoiceMade):
            rows.append(
                (event.step_id, "-", "choice", _offset(event.at, origin), "", f"-> {event.next}")
            )
        elif isinstance(event, WaitStarted):
            ended = wait_ends.get(event.step_id)
            status = "waited" if ended is not None else "waiting"
            duration = "" if ended is None else f"{(ended - event.at).total_seconds():.3f}s"
            rows.append((event.step_id, "-", status, _offset(event.at, origin), duration, ""))
    return rows


def _attempt_row(record: AttemptRecord, origin: datetime) -> tuple[str, ...]:
    began = record.started_at or record.due_at
    duration = "" if record.duration is None else f"{record.duration:.3f}s"
    detail = ""
    if record.error is not None:
        detail = record.error.error + (f": {record.error.message}" if record.error.message else "")
    return (
        record.step_id,
        str(record.attempt),
        str(record.status),
        _offset(began, origin),
        duration,
        detail,
    )


def _offset(instant: datetime, origin: datetime) -> str:
    return f"+{(instant - origin).total_seconds():.3f}s"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
