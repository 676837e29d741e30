"""Turn due timers into progress: retries after backoff, ended waits, lost attempts, lost jobs.

A batch of due runs is claimed and moved in one transaction. On PostgreSQL the claim locks
the rows and skips those another scheduler holds, so several schedulers share the work and
never wake the same run twice; the runs' ``seq`` guards every other writer.
"""

from __future__ import annotations

import logging

from wfa.application.errors import ConcurrencyConflict, NotFound, TransactionAborted
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.run_family import FamilyConflict
from wfa.application.run_transitions import RunTransitions
from wfa.domain.commands import Wake
from wfa.domain.progress import Decision
from wfa.domain.run import Run

log = logging.getLogger(__name__)


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
        moved: list[Decision] = []
        async with self._uow() as uow:
            for run_id in await uow.runs.due(self._clock.now(), limit):
                run = await uow.runs.get(run_id)
                if run is None:
                    continue
                try:
                    result = await self._transitions.decide_in(uow, run, self._wake)
                except (FamilyConflict, TransactionAborted):
                    # Part of it is staged, or the database aborted the transaction: the
                    # whole batch goes, and its runs are still due at the next tick.
                    raise
                except (NotFound, ConcurrencyConflict) as error:
                    log.warning("run %s not woken: %s", run_id, error)
                    continue
                if not result.decision.ignored:
                    moved.append(result.decision)
            if moved:
                await uow.commit()
        for decision in moved:
            await self._transitions.deliver(decision)
        return len(moved)

    async def seconds_to_next(self) -> float | None:
        """How long until the earliest timer not due yet; None when no run has one."""
        now = self._clock.now()
        async with self._uow() as uow:
            at = await uow.runs.next_wake(now)
        return None if at is None else (at - now).total_seconds()

    def _wake(self, _run: Run) -> Wake:
        return Wake(random_fraction=self._entropy.fraction())
