"""``wfa runs watch ID``: a run's timeline, live, from its Server-Sent Events.

On a terminal the timeline is redrawn in place (rich Live); otherwise each event is one line
as it comes, and with ``--json`` each event is the API's JSON, one a line. Exit 0 when the
run succeeded, 1 when it failed or was cancelled. A server that stops or restarts meanwhile
is waited for (``Client.follow_run``), up to ``GIVE_UP_AFTER`` seconds without an answer.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import msgspec
from rich.console import Console
from rich.live import Live
from rich.table import Table

from wfa.entrypoints.cli_remote import EXIT_FAILED, EXIT_OK
from wfa.entrypoints.client import TERMINAL_STATUSES, Client, StreamedEvent

STYLES = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}


class Timeline:
    """The rows of a run's timeline, built up one history event at a time."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.status = "pending"
        self.origin: datetime | None = None
        self.rows: dict[tuple[str, str], list[str]] = {}  # (step, attempt) -> cells
        self.result = ""

    def apply(self, event: StreamedEvent) -> str:
        """Take the event in; the line that tells it."""
        data = event.data
        at = datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00"))
        self.origin = self.origin or at
        offset = f"+{(at - self.origin).total_seconds():.3f}s"
        step = str(data.get("step_id", ""))
        attempt = str(data.get("attempt", "-"))
        kind = event.type
        if kind in ("run.started", "run.resumed"):
            self.status = "running"
        elif kind in ("run.succeeded", "run.failed", "run.cancelled"):
            self.status = kind.removeprefix("run.")
            self.result = self._result(data)
        elif kind == "step.scheduled":
            self.rows[(step, attempt)] = [step, attempt, "scheduled", offset, "", ""]
        elif kind == "step.started":
            self._set(step, attempt, status="running", at=offset)
        elif kind == "step.succeeded":
            self._set(step, attempt, status="succeeded", took=self._took(step, attempt, at))
            row = self.rows[(step, attempt)]
            row[5] = row[5].replace("awaiting ", "awaited ", 1)
        elif kind == "step.failed":
            took = self._took(step, attempt, at)
            self._set(step, attempt, status="failed", took=took, detail=_error(data["error"]))
        elif kind == "await.started":
            awaited = data.get("signal") or data.get("event") or "its callback"
            self._set(step, attempt, status="awaiting", detail=f"awaiting {awaited}")
        elif kind == "choice.made":
            self.rows[(step, f"choice@{event.seq}")] = [step, "-", "choice", offset, "", ""]
            self.rows[(step, f"choice@{event.seq}")][5] = f"-> {data.get('next')}"
        elif kind == "wait.started":
            self.rows[(step, "wait")] = [step, "-", "waiting", offset, "", ""]
        elif kind == "wait.ended":
            self._set(step, "wait", status="waited")
        return f"{offset:>10}  {kind:<16} {_subject(data)}".rstrip()

    def _set(self, step: str, attempt: str, **cells: str) -> None:
        row = self.rows.setdefault((step, attempt), [step, attempt, "", "", "", ""])
        for name, value in cells.items():
            row[{"status": 2, "at": 3, "took": 4, "detail": 5}[name]] = value

    def _took(self, step: str, attempt: str, at: datetime) -> str:
        row = self.rows.get((step, attempt))
        if row is None or not row[3] or self.origin is None:
            return ""
        began = float(row[3].strip("+s"))
        return f"{(at - self.origin).total_seconds() - began:.3f}s"

    def _result(self, data: dict[str, Any]) -> str:
        if "error" in data:
            where = f" at step {data['step_id']!r}" if data.get("step_id") else ""
            return f"error{where}: {_error(data['error'])}"
        if self.status == "cancelled":
            return f"cancelled: {data.get('reason') or 'no reason given'}"
        return "output: " + json.dumps(data.get("output"), ensure_ascii=False)

    def table(self) -> Table:
        grid = Table(title=f"run {self.run_id}: {self.status}", title_justify="left")
        for header in ("STEP", "ATTEMPT", "STATUS", "AT", "DURATION", "DETAIL"):
            grid.add_column(header)
        for cells in self.rows.values():
            style = STYLES.get(cells[2], "")
            grid.add_row(*cells[:2], f"[{style}]{cells[2]}[/]" if style else cells[2], *cells[3:])
        if self.result:
            grid.caption = self.result
            grid.caption_justify = "left"
        return grid


def watch(client: Client, run_id: str, as_json: bool) -> int:
    client.get_run(run_id)  # 404 as one line before anything is drawn
    timeline = Timeline(run_id)
    if as_json or not sys.stdout.isatty():
        for event in client.follow_run(run_id):
            line = timeline.apply(event)
            if as_json:
                print(msgspec.json.encode(event.data).decode(), flush=True)
            else:
                print(line, flush=True)
    else:
        with Live(timeline.table(), console=Console(), refresh_per_second=8) as live:
            for event in client.follow_run(run_id):
                timeline.apply(event)
                live.update(timeline.table())
    ended = timeline.status in TERMINAL_STATUSES
    status = timeline.status if ended else client.get_run(run_id).status
    if not as_json:
        if timeline.result and not sys.stdout.isatty():
            print(timeline.result)
        print(f"run {run_id} {status}", file=sys.stderr)
    return EXIT_OK if status == "succeeded" else EXIT_FAILED


def _subject(data: dict[str, Any]) -> str:
    parts = []
    if "step_id" in data:
        parts.append(str(data["step_id"]) + (f"#{data['attempt']}" if "attempt" in data else ""))
    if "error" in data:
        parts.append(_error(data["error"]))
    if "name" in data:
        parts.append(str(data["name"]))
    if "next" in data:
        parts.append(f"-> {data['next']}")
    return " ".join(parts)


def _error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    message = error.get("message")
    return str(error.get("error", "")) + (f": {message}" if message else "")
