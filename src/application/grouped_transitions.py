"""Group commit: the moves a worker's jobs ask for at the same moment share one transaction.

A worker runs many jobs at once, and each claim and each outcome was a transaction of its
own: a connection taken from the pool, a BEGIN, a COMMIT (on PostgreSQL a WAL flush) for a
single row. Here a move that arrives while another batch is being committed waits for the
next one, and a batch decides its moves one after another in one unit of work, then
commits once. Alone, a move is committed at once, as before: nothing waits for company.

Nothing weaker than one transaction a move: each move is decided on its run as read in the
batch's transaction (or as its caller stored it, ``known``), written with the same ``seq``
check, and delivered only after the commit. A move whose run changed under it (a conflict,
nothing staged) is decided again on its own after the batch. Anything that spoils the
transaction (a deadlock PostgreSQL broke, a value the store refuses, a conflict after part
of a family was staged) keeps nothing of the batch, and each of its moves is then applied
on its own, so every caller gets the answer it would have had alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from wfa.application.errors import ConcurrencyConflict
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.run_transitions import Moved, RunTransitions
from wfa.domain.commands import RunCommand
from wfa.domain.run import Run

log = logging.getLogger(__name__)

MAX_BATCH = 32  # moves a transaction: its locks are held until the last one is decided


@dataclass
class _Move:
    run_id: str
    command: Callable[[Run], RunCommand] | RunCommand
    claim_next: bool
    known: Run | None
    answer: asyncio.Future[Moved] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupedTransitions:
    """``RunTransitions.apply`` for many callers at once, batched into shared commits."""

    def __init__(
        self, transitions: RunTransitions, uow: UnitOfWorkFactory, max_batch: int = MAX_BATCH
    ) -> None:
        self.transitions = transitions
        self._uow = uow
        self._max_batch = max_batch
        self._waiting: list[_Move] = []
        self._leader: asyncio.Task[None] | None = None

    async def apply(
        self,
        run_id: str,
        command: Callable[[Run], RunCommand] | RunCommand,
        *,
        claim_next: bool = False,
        known: Run | None = None,
    ) -> Moved:
        move = _Move(run_id, command, claim_next, known)
        self._waiting.append(move)
        if self._leader is None:
            self._leader = asyncio.create_task(self._lead())
        return await move.answer

    async def _lead(self) -> None:
        batch: list[_Move] = []
        try:
            while self._waiting:
                batch = [
                    move for move in self._waiting[: self._max_batch] if not move.answer.done()
                ]
                del self._waiting[: self._max_batch]
                await self._commit(batch)
        finally:
            self._leader = None
            for move in [*batch, *self._waiting]:  # only when the leader itself was cancelled
                move.answer.cancel()

    async def _commit(self, batch: list[_Move]) -> None:
        if len(batch) == 1:
            await self._alone(batch[0], batch[0].known)
            return
        decided: list[tuple[_Move, Moved]] = []
        again: list[_Move] = []
        try:
            async with self._uow() as uow:
                for move in batch:
                    run = move.known if move.known is not None else await uow.runs.get(move.run_id)
                    if run is None:  # gone: answered on its own (NotFound)
                        again.append(move)
                        continue
                    try:
                        moved = await self.transitions.decide_in(
                            uow, run, move.command, claim_next=move.claim_next
                        )
                    except ConcurrencyConflict:  # nothing of it staged: decided again after
                        again.append(move)
                        continue
                    decided.append((move, moved))
                if any(not moved.decision.ignored for _, moved in decided):
                    await uow.commit()
        except Exception:
            # Nothing of the batch is kept; alone, each move meets its own fate.
            log.info("a grouped commit failed; its %d moves go one by one", len(batch))
            decided, again = [], batch
        for move, moved in decided:
            try:
                await self.transitions.deliver(moved.decision)
            except Exception as error:  # committed; its caller hears what a lone move would
                _answer(move, error=error)
                continue
            _answer(move, moved)
        for move in again:
            await self._alone(move, None)

    async def _alone(self, move: _Move, known: Run | None) -> None:
        try:
            moved = await self.transitions.apply(
                move.run_id, move.command, claim_next=move.claim_next, known=known
            )
        except Exception as error:
            _answer(move, error=error)
            return
        _answer(move, moved)


def _answer(move: _Move, moved: Moved | None = None, error: Exception | None = None) -> None:
    if move.answer.done():  # its caller stopped waiting
        return
    if error is not None:
        move.answer.set_exception(error)
    elif moved is not None:
        move.answer.set_result(moved)
