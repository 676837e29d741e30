"""Columns a run's row and its events' rows carry beside the JSON, on every database."""

from __future__ import annotations

from typing import Any

from wfa.domain.events import Event, SignalReceived
from wfa.domain.run import Run


def signal_key(event: Event) -> str | None:
    """The idempotency key a received signal is stored under (its own column, indexed)."""
    return event.key if isinstance(event, SignalReceived) else None


def family_columns(run: Run) -> dict[str, Any]:
    """Where a child run belongs: all None for a run nobody started, and for a sub-workflow
    started with ``wait: false`` (it lives on its own: listed, pruned and kept as a root)."""
    link = run.parent if run.parent is not None and run.parent.wait else None
    return {
        "parent_run_id": link.run_id if link else None,
        "parent_step": link.step_id if link else None,
        "parent_attempt": link.attempt if link else None,
        "child_index": link.index if link else None,
        "scope": run.scope,
    }
