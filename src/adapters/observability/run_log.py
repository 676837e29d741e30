"""One log line per run lifecycle event that an operator acts on, taken from published events.

``RunLogPublisher`` is an ``EventPublisher`` wired beside the metrics (``FanOutPublisher``):
events are published once, by the process that decided them, after their commit, so each
line is written once, by that process, whichever role it plays. Followers (SSE clients,
webhook waiters) read the events elsewhere and log nothing.

Lines go to ``wfa.runs``: INFO for the normal course, WARNING for failures. When neither
level is enabled a batch costs one ``isEnabledFor`` call; messages are %-style, so nothing
is formatted unless a handler takes the record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from wfa.application.log_context import current_log_context
from wfa.domain.events import (
    AttemptFailed,
    AttemptScheduled,
    AttemptStarted,
    Event,
    RunCancelled,
    RunFailed,
    RunResumed,
    RunStarted,
    RunSucceeded,
)

RUN_LOGGER = "wfa.runs"
WORKER_LOST = "worker.lost"

log = logging.getLogger(RUN_LOGGER)


class RunLogPublisher:
    """Logs run starts and ends, step failures, retries and lost workers, with their run's ids."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self._log = logger

    async def publish(self, run_id: str, events: Sequence[Event]) -> None:
        if not self._log.isEnabledFor(logging.WARNING):
            return
        # RunTransitions.deliver publishes inside the run's log context, which names its workflow.
        fields = {"run_id": run_id, "workflow_id": current_log_context().get("workflow_id")}
        info = self._log.isEnabledFor(logging.INFO)
        for index in range(len(events)):
            self._line(events, index, fields, info)

    def _line(
        self, events: Sequence[Event], index: int, fields: dict[str, object], info: bool
    ) -> None:
        match events[index]:
            case AttemptFailed(step_id=step_id, attempt=attempt, error=error):
                retry_at = _next_retry(events, index, step_id)
                lost = error.error == WORKER_LOST
                what = "worker lost (lease expired)" if lost else "step failed"
                self._log.warning(
                    "%s: %s",
                    what,
                    error.message or error.error,
                    extra={
                        **fields,
                        "step_id": step_id,
                        "attempt": attempt,
                        "error": error.error,
                        "retry_at": None if retry_at is None else retry_at.isoformat(),
                    },
                )
            case RunFailed(error=error, step_id=step_id):
                self._log.warning(
                    "run failed: %s",
                    error.message or error.error,
                    extra={**fields, "step_id": step_id, "error": error.error},
                )
            case RunStarted() if info:
                self._log.info("run started", extra=fields)
            case AttemptStarted(step_id=step_id, attempt=attempt) if info and attempt > 1:
                self._log.info(
                    "step retried",
                    extra={**fields, "step_id": step_id, "attempt": attempt},
                )
            case RunSucceeded() if info:
                self._log.info("run succeeded", extra=fields)
            case RunCancelled(reason=reason) if info:
                self._log.info("run cancelled: %s", reason or "no reason given", extra=fields)
            case RunResumed(step_id=step_id) if info:
                self._log.info("run resumed", extra={**fields, "step_id": step_id})
            case _:
                pass


def _next_retry(events: Sequence[Event], index: int, step_id: str) -> datetime | None:
    """When the failed attempt's retry is due, if the decision that failed it scheduled one."""
    for later in events[index + 1 :]:
        if isinstance(later, AttemptScheduled) and later.step_id == step_id:
            return later.due_at
    return None
