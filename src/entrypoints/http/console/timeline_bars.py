"""A run's attempts on one time axis: where each began and ended, as fractions of the run.

The axis runs from the run's creation to its end (or now, while it runs), so a retry's
backoff shows as the gap between two bars and a slow step as a long one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from wfa.domain.events import ErrorInfo
from wfa.domain.run import AttemptStatus, Run
from wfa.domain.timeline import AttemptRecord

AXIS = 1000  # the bars' viewBox width
MAX_ROWS = 200  # attempts drawn; a run with more shows its latest (the API lists them all)


@dataclass(frozen=True)
class Bar:
    step_id: str
    attempt: int
    try_number: int
    status: str
    x: float  # start on the axis, 0..AXIS
    width: float
    waited: float  # the queued or backoff part before it started, drawn lighter
    started_at: datetime | None
    ended_at: datetime | None
    duration: str
    error: ErrorInfo | None
    awaited: str | None


@dataclass(frozen=True)
class Axis:
    bars: list[Bar]
    start: datetime
    end: datetime
    span: str
    ticks: list[tuple[float, str]]
    hidden: int = 0  # earlier attempts left out past MAX_ROWS


def seconds_text(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def axis(run: Run, records: Sequence[AttemptRecord], now: datetime) -> Axis:
    start = run.created_at
    end = run.updated_at if run.status.is_terminal else max(now, run.updated_at)
    span = max((end - start).total_seconds(), 0.001)

    def at(moment: datetime) -> float:
        return min(max((moment - start).total_seconds() / span, 0.0), 1.0) * AXIS

    bars = []
    hidden = max(len(records) - MAX_ROWS, 0)
    for record in records[hidden:]:
        began = record.started_at or record.due_at
        finished = record.ended_at or (now if record.status in _OPEN else began)
        x0, x1 = at(began), at(max(finished, began))
        queued_from = at(min(record.scheduled_at, began))
        x0 = min(x0, AXIS - 2)  # one due later than the axis's end shows at its edge
        bars.append(
            Bar(
                step_id=record.step_id,
                attempt=record.attempt,
                try_number=record.try_number,
                status=str(record.status),
                x=x0,
                width=max(x1 - x0, 2.0),
                waited=x0 - queued_from,
                started_at=record.started_at,
                ended_at=record.ended_at,
                duration="" if record.duration is None else seconds_text(record.duration),
                error=record.error,
                awaited=record.awaited,
            )
        )
    ticks = [(AXIS * part / 4, "+" + seconds_text(span * part / 4)) for part in range(1, 5)]
    return Axis(
        bars=bars, start=start, end=end, span=seconds_text(span), ticks=ticks, hidden=hidden
    )


_OPEN = frozenset({AttemptStatus.RUNNING, AttemptStatus.AWAITING, AttemptStatus.QUEUED})
