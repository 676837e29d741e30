"""Show a finished run as text: one row per attempt, choice and wait, then the result.

A parallel, map or workflow step's attempt is followed by its children's rows, indented and
labelled by branch name or item index (the first ``SHOWN_CHILDREN`` of each attempt).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec

from wfa.application.use_cases.queries import RunDetails
from wfa.domain.events import AttemptScheduled, ChoiceMade, FanOpened, WaitEnded, WaitStarted
from wfa.domain.run import AttemptStatus
from wfa.domain.timeline import AttemptRecord

HEADER = ("STEP", "ATTEMPT", "STATUS", "AT", "DURATION", "DETAIL")
SHOWN_CHILDREN = 20
INDENT = "  "


class Family(msgspec.Struct, frozen=True, kw_only=True):
    """A run's details with those of the children each of its fan attempts started."""

    details: RunDetails
    children: dict[str, list[Family]] = {}  # "step#attempt" -> the first children, in order
    totals: dict[str, int] = {}  # "step#attempt" -> how many children it started


def fan_key(step_id: str, attempt: int) -> str:
    return f"{step_id}#{attempt}"


def render_run(details: RunDetails | Family, workflow_name: str) -> str:
    family = details if isinstance(details, Family) else Family(details=details)
    run = family.details.run
    rows = _family_rows(family, run.created_at, "")
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


def _family_rows(family: Family, origin: datetime, indent: str) -> list[tuple[str, ...]]:
    rows = []
    for row, fan in _rows(family.details, origin):
        rows.append((indent + row[0], *row[1:]))
        if fan is None or fan not in family.children:
            continue
        for child in family.children[fan]:
            link = child.details.run.parent
            assert link is not None
            label = f"[{link.index}]" if link.kind == "iteration" else link.kind
            if link.kind == "branch":
                label = (child.details.run.scope or "").rsplit("/", 1)[-1]
            child_run = child.details.run
            rows.append(
                (f"{indent}{INDENT}{label}", "-", str(child_run.status), "", "", child_run.id)
            )
            rows += _family_rows(child, origin, indent + INDENT * 2)
        hidden = family.totals.get(fan, 0) - len(family.children[fan])
        if hidden > 0:
            rows.append((f"{indent}{INDENT}… {hidden} more", "", "", "", "", ""))
    return rows


def _rows(details: RunDetails, origin: datetime) -> list[tuple[tuple[str, ...], str | None]]:
    """Rows in history order: an attempt where it was scheduled, a wait where it began."""
    records = {(record.step_id, record.attempt): record for record in details.attempts}
    wait_ends = {
        event.step_id: event.at for event in details.history if isinstance(event, WaitEnded)
    }
    fans = {(e.step_id, e.attempt) for e in details.history if isinstance(e, FanOpened)}
    rows: list[tuple[tuple[str, ...], str | None]] = []
    for event in details.history:
        if isinstance(event, AttemptScheduled):
            record = records[(event.step_id, event.attempt)]
            opened = (event.step_id, event.attempt) in fans
            fan = fan_key(event.step_id, event.attempt) if opened else None
            rows.append((_attempt_row(record, origin), fan))
        elif isinstance(event, ChoiceMade):
            at = _offset(event.at, origin)
            rows.append(((event.step_id, "-", "choice", at, "", f"-> {event.next}"), None))
        elif isinstance(event, WaitStarted):
            ended = wait_ends.get(event.step_id)
            status = "waited" if ended is not None else "waiting"
            duration = "" if ended is None else f"{(ended - event.at).total_seconds():.3f}s"
            at = _offset(event.at, origin)
            rows.append(((event.step_id, "-", status, at, duration, ""), None))
    return rows


def _attempt_row(record: AttemptRecord, origin: datetime) -> tuple[str, ...]:
    began = record.started_at or record.due_at
    duration = "" if record.duration is None else f"{record.duration:.3f}s"
    detail = ""
    if record.awaited is not None and record.deadline is not None:
        if record.status is AttemptStatus.AWAITING:
            detail = f"awaiting {record.awaited} until {_offset(record.deadline, origin)}"
        else:
            detail = f"awaited {record.awaited}"
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
