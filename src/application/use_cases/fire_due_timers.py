"""Turn due timers into progress: retries after backoff, ended waits, lost attempts, lost jobs.

A batch of due runs is claimed and moved in one transaction. On PostgreSQL the claim locks
the rows and skips those another scheduler holds, so several schedulers share the work and
never wake the same run twice; the runs' ``seq`` guards every other writer.
"""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

from wfa.application.errors import ConcurrencyConflict, NotFound, TransactionAborted
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.run_family import FamilyConflict
from wfa.application.run_transitions import RunTransitions
from wfa.domain.commands import Wake
from wfa.domain.progress import Decision
from wfa.domain.run import Run

log = logging.getLogger(__name__)

# Event loops may wake a timer a little early (uvloop's resolution is a millisecond): who
# sleeps until something is due sleeps this much longer, so that it is due when they look.
CLOCK_SLACK = 0.002


class Look(msgspec.Struct, frozen=True):
    moved: int
    next_at: datetime | None  # the earliest timer not due at the look; None: no run has one


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
        return (await self._fire(limit, name_next=False)).moved

    async def look(self, limit: int = 100) -> Look:
        """Wake up to ``limit`` due runs, and say when the earliest timer still to come is
        due: both at one ``now`` in one transaction, so that no timer falls between them."""
        return await self._fire(limit, name_next=True)

    async def _fire(self, limit: int, name_next: bool) -> Look:
        moved: list[Decision] = []
        now = self._clock.now()
        async with self._uow() as uow:
            for run_id in await uow.runs.due(now, limit):
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
            next_at = await uow.runs.next_wake(now) if name_next else None
            if moved:
                await uow.commit()
        for decision in moved:
            await self._transitions.deliver(decision)
        return Look(moved=len(moved), next_at=next_at)

    def seconds_until(self, at: datetime) -> float:
        return (at - self._clock.now()).total_seconds()

    def _wake(self, _run: Run) -> Wake:
        return Wake(random_fraction=self._entropy.fraction())
