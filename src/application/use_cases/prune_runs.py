"""Retention: delete finished runs (and their history) past an age or beyond a count."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from wfa.application.ports.clock import Clock
from wfa.application.ports.repositories import UnitOfWorkFactory


class Retention(msgspec.Struct, frozen=True, kw_only=True):
    """Keep finished runs at most ``max_age``, and at most the ``max_runs`` newest of them."""

    max_age: timedelta | None = None
    max_runs: int | None = None

    @property
    def enabled(self) -> bool:
        return self.max_age is not None or self.max_runs is not None


class PruneRuns:
    """Prune in small batches, one transaction each, so no table stays locked for long."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, batch_size: int = 500) -> None:
        self._uow, self._clock, self._batch_size = uow, clock, batch_size

    async def execute(self, retention: Retention, max_batches: int = 1000) -> int:
        """Prune what either rule lets go (too old, or beyond the newest ``max_runs``)."""
        pruned = 0
        if retention.max_age is not None:
            before = self._clock.now() - retention.max_age
            pruned += await self._batches(before, None, max_batches)
        if retention.max_runs is not None:
            pruned += await self._batches(None, retention.max_runs, max_batches)
        return pruned

    async def _batches(self, before: datetime | None, keep: int | None, max_batches: int) -> int:
        pruned = 0
        for _ in range(max_batches):
            async with self._uow() as uow:
                count = await uow.runs.prune(before, keep, self._batch_size)
                await uow.commit()
            pruned += count
            if count < self._batch_size:
                break
        return pruned
