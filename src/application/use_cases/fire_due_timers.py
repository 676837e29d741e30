"""Turn due timers into progress: retries after backoff, ended waits, lost attempts, lost jobs."""

from __future__ import annotations

from wfa.application.errors import ConcurrencyConflict, NotFound
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.run_transitions import RunTransitions
from wfa.domain.commands import Wake
from wfa.domain.run import Run


class FireDueTimers:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        transitions: RunTransitions,
        clock: Clock,
        entropy: Entropy,
    ) -> None:
        self._uow, self._transitions = uow, transitions
        self._clock, self._entropy = clock, entropy

    async def execute(self, limit: int = 100) -> int:
        """Wake up to ``limit`` due runs; return how many of them moved."""
        async with self._uow() as uow:
            due = await uow.runs.due(self._clock.now(), limit)
        moved = 0
        for run_id in due:
            try:
                result = await self._transitions.apply(run_id, self._wake)
            except (NotFound, ConcurrencyConflict):
                continue  # pruned meanwhile, or another scheduler is on it
            moved += not result.decision.ignored
        return moved

    def _wake(self, _run: Run) -> Wake:
        return Wake(random_fraction=self._entropy.fraction())
