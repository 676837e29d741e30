"""Notices: what a workflow's ``notify`` targets are told when its runs start and end.

Decided with the event they report (``Progress.decision``) and stored in the same
transaction (an outbox), so a notice is neither lost nor invented; they are posted after,
apart from the run, which never waits for them. A notice's id is its run, the event's seq
and the target's place: the same event is never stored as two notices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from wfa.domain.definition import Definition
from wfa.domain.events import Event, RunCancelled, RunFailed, RunStarted, RunSucceeded
from wfa.domain.run import Run

_KINDS: dict[type[Event], str] = {
    RunStarted: "run.started",
    RunSucceeded: "run.succeeded",
    RunFailed: "run.failed",
    RunCancelled: "run.cancelled",
}


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """One POST to make: ``body`` to ``url``, signed with the stored secret ``secret``."""

    id: str
    url: str
    secret: str | None
    event: str
    body: dict[str, Any]


def notices_for(definition: Definition, run: Run, events: Sequence[Event]) -> tuple[Notice, ...]:
    """The notices ``events`` (just recorded on ``run``) call for."""
    if not definition.notify:
        return ()
    found: list[Notice] = []
    for event in events:
        kind = _KINDS.get(type(event))
        if kind is None:
            continue
        body = _body(definition, run, event, kind)
        for index, target in enumerate(definition.notify):
            if kind in target.events:
                found.append(
                    Notice(
                        id=f"{run.id}/{event.seq}/{index}",
                        url=target.url,
                        secret=target.secret,
                        event=kind,
                        body=body,
                    )
                )
    return tuple(found)


def _body(definition: Definition, run: Run, event: Event, kind: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": kind,
        "at": event.at.isoformat(),
        "run_id": run.id,
        "workflow": definition.name,
        "workflow_id": run.workflow_id,
        "workflow_version": run.workflow_version,
    }
    if isinstance(event, RunSucceeded):
        body["output"] = event.output
    elif isinstance(event, RunFailed):
        body["error"] = msgspec.to_builtins(event.error)
        body["failed_step"] = event.step_id
    elif isinstance(event, RunCancelled):
        body["reason"] = event.reason
    return body
