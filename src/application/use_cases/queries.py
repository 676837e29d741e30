"""Read runs: one with its attempts and history, a filtered page, the history alone."""

from __future__ import annotations

import msgspec

from wfa.application.errors import NotFound
from wfa.application.ports.repositories import RunFilter, RunPage, UnitOfWorkFactory
from wfa.domain.events import Event
from wfa.domain.run import Run
from wfa.domain.timeline import AttemptRecord, attempts


class RunDetails(msgspec.Struct, frozen=True, kw_only=True):
    run: Run
    attempts: list[AttemptRecord]
    history: list[Event]


class GetRun:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, run_id: str) -> RunDetails:
        async with self._uow() as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run", run_id)
            history = await uow.runs.history(run_id)
        return RunDetails(run=run, attempts=attempts(history), history=history)


class ListRuns:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, where: RunFilter, limit: int = 50, cursor: str | None = None
    ) -> RunPage:
        async with self._uow() as uow:
            return await uow.runs.page(where, limit, cursor)


class GetRunHistory:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, run_id: str, after_seq: int = 0) -> list[Event]:
        async with self._uow() as uow:
            if await uow.runs.get(run_id) is None:
                raise NotFound("run", run_id)
            return await uow.runs.history(run_id, after_seq)
