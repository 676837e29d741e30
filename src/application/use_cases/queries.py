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


class HistoryPage(msgspec.Struct, frozen=True, kw_only=True):
    """Events in seq order; ``next_after_seq`` (the last one's seq) when more follow."""

    events: list[Event]
    next_after_seq: int | None = None


DEFAULT_HISTORY_PAGE = 500


class GetRunHistory:
    """A page of a run's history: a run may hold up to its budget of events (10,000 and more)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, run_id: str, after_seq: int = 0, limit: int = DEFAULT_HISTORY_PAGE
    ) -> HistoryPage:
        async with self._uow() as uow:
            if await uow.runs.get(run_id) is None:
                raise NotFound("run", run_id)
            # One more than asked says whether another page follows, without a count.
            found = await uow.runs.history(run_id, after_seq, limit + 1)
        page = found[:limit]
        more = len(found) > limit and bool(page)
        return HistoryPage(events=page, next_after_seq=page[-1].seq if more else None)


class ChildPage(msgspec.Struct, frozen=True, kw_only=True):
    """Children in index order; ``next_index`` (the last one's index) when more follow."""

    runs: list[Run]
    next_index: int | None = None


class ListChildren:
    """The branches, iterations or sub-workflow one step of a run started, a page at a time."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self,
        run_id: str,
        step_id: str,
        attempt: int | None = None,
        after_index: int = -1,
        limit: int = 50,
    ) -> ChildPage:
        """``attempt`` None: the step's latest attempt. NotFound for an unknown run."""
        async with self._uow() as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run", run_id)
            if attempt is None:
                attempt = run.attempt_counts.get(step_id, 0)
            found = await uow.runs.children(run_id, step_id, attempt, after_index, limit + 1)
        page = found[:limit]
        more = len(found) > limit and page
        last = page[-1].parent if more else None
        return ChildPage(runs=page, next_index=last.index if last is not None else None)
