"""Cancel a run, or retry a failed one from its failed step."""

from __future__ import annotations

from wfa.application.payloads import check_storable
from wfa.application.run_transitions import RunTransitions
from wfa.domain.commands import Cancel, Resume
from wfa.domain.run import Run


class CancelRun:
    """Cancel an unfinished run; its current attempt's result, if any comes, is ignored."""

    def __init__(self, transitions: RunTransitions) -> None:
        self._transitions = transitions

    async def execute(self, run_id: str, reason: str = "") -> Run:
        check_storable(reason, "the reason")  # kept in the run's history
        return (await self._transitions.apply(run_id, Cancel(reason=reason))).run


class RetryRun:
    """Resume a failed run at the step that failed it; succeeded steps are not run again."""

    def __init__(self, transitions: RunTransitions) -> None:
        self._transitions = transitions

    async def execute(self, run_id: str) -> Run:
        return (await self._transitions.apply(run_id, Resume())).run
