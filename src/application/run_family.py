"""What one run's decision asks of its relatives, done in the same transaction.

A parallel, map or workflow step works through child runs (see ``domain/fan_out.py``). When
a decision is stored, this carries out what it asked: create and start children, cancel the
children of a fan the run left, hand back the outputs of a fan whose children all ended,
and tell a waiting parent that its child ended. Each of those is a decision on another run,
which may ask for more (a child that ends at once, a parent that ends in turn...), so they
are worked off a list, never by recursion: a map whose iterations end as soon as they start
moves through all of its items in one transaction without deepening the stack.

Locks: a run's end is stored only after its waiting parent is locked, so every transaction
takes a parent before its child, as a cancel does; the children of one map ending at once
on several workers then queue on the parent's row instead of failing on its version.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from wfa.application.child_runs import ChildRuns
from wfa.application.errors import ConcurrencyConflict
from wfa.application.payloads import PayloadTooLarge, as_bounded_json
from wfa.application.ports.repositories import UnitOfWork
from wfa.domain import machine
from wfa.domain.children import FanRef
from wfa.domain.commands import Cancel, EndChild, Join, RunCommand, Start
from wfa.domain.definition import Definition
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import TERMINAL_EVENTS, ErrorInfo
from wfa.domain.on_failure import ON_FAILURE
from wfa.domain.progress import Decision, EngineSettings
from wfa.domain.run import Run, RunStatus

log = logging.getLogger(__name__)

CANCELLED_WITH_PARENT = "the step that started this run ended before it did"


class FamilyConflict(ConcurrencyConflict):
    """A relative changed under a decision already staged: the whole transaction must go."""


class _Move(msgspec.Struct, frozen=True):
    run_id: str
    command: RunCommand
    notify: bool = True  # tell a waiting parent when this ends the run


DefinitionOf = Callable[[UnitOfWork, Run], Awaitable[Definition]]


class RunFamily:
    def __init__(
        self,
        definition_of: DefinitionOf,
        settings: EngineSettings,
        now: Callable[[], Any],
        max_output_bytes: int,
    ) -> None:
        self._definition_of = definition_of
        self._settings = settings
        self._now = now
        self._max_output_bytes = max_output_bytes
        self._children = ChildRuns(now, max_output_bytes)

    async def save(self, uow: UnitOfWork, before: Run | None, decision: Decision) -> list[Decision]:
        """Store ``decision`` (taken on ``before``; None: it created the run) and everything
        it asks of other runs. Returns the decisions taken on other runs, to deliver after
        the commit."""
        others: list[Decision] = []
        pending: deque[_Move] = deque()
        await self._store(uow, before, decision, True, pending)  # a lost race: nothing staged
        try:
            await self._follow(uow, decision, pending)
            while pending:
                move = pending.popleft()
                taken = await self._decide(uow, move, pending)
                if taken is not None:
                    others.append(taken)
        except ConcurrencyConflict as conflict:  # the first run's change is staged already
            raise FamilyConflict(conflict.run_id, -1) from conflict
        return others

    async def _decide(self, uow: UnitOfWork, move: _Move, pending: deque[_Move]) -> Decision | None:
        run = await uow.runs.get(move.run_id, for_update=isinstance(move.command, EndChild))
        if run is None:
            return None
        definition = await self._definition_of(uow, run)
        try:
            decision = machine.decide(definition, run, move.command, self._now(), self._settings)
        except IllegalTransition:
            # A cancel that found the child ended already; or a child to start that was
            # cancelled while it waited its turn: its parent counts it as ended now.
            link = run.parent
            if isinstance(move.command, Start) and run.status.is_terminal and link is not None:
                pending.append(_Move(link.run_id, _end_child(run)))
            return None
        if decision.ignored:
            return None
        await self._store(uow, run, decision, move.notify, pending)
        await self._follow(uow, decision, pending)
        return decision

    async def _store(
        self,
        uow: UnitOfWork,
        before: Run | None,
        decision: Decision,
        notify: bool,
        pending: deque[_Move],
    ) -> None:
        """Store one decision; when it ends a child its parent waits for, lock the parent
        first (the order a cancel takes them in too) and tell it."""
        run = decision.run
        ended = any(isinstance(event, TERMINAL_EVENTS) for event in decision.events)
        waiting = run.parent if notify and ended and run.parent and run.parent.wait else None
        if waiting is not None:
            await uow.runs.get(waiting.run_id, for_update=True)
        if before is None:
            await uow.runs.add(run, decision.events)
        else:
            await uow.runs.save(run, decision.events, expected_seq=before.seq)
        if decision.notices:
            await uow.notices.add(decision.notices, self._now())
        if waiting is not None:
            pending.append(_Move(waiting.run_id, _end_child(run)))

    async def _follow(self, uow: UnitOfWork, decision: Decision, pending: deque[_Move]) -> None:
        """Queue what a stored decision asks of other runs."""
        run = decision.run
        created = await self._children.create(uow, run, decision.spawns)
        pending.extend(_Move(run.id, refusal) for refusal in created.refusals)
        failed_spawns = created.failed
        for child_id in decision.starts:
            if child_id not in failed_spawns:
                pending.append(_Move(child_id, Start()))
        for spawn in decision.spawns:
            if spawn.parent.kind == ON_FAILURE:
                if spawn.run_id in failed_spawns:
                    log.warning(
                        "the error workflow %r of a failed run could not be started",
                        spawn.workflow,
                        extra={"run_id": run.id},
                    )
                continue  # the failed run is told nothing: it has ended
            if not spawn.parent.wait and spawn.run_id not in failed_spawns:
                detached = Join(
                    step_id=spawn.parent.step_id,
                    attempt=spawn.parent.attempt,
                    outputs=({"run_id": spawn.run_id},),
                    errors=(None,),
                )
                pending.append(_Move(run.id, detached))
        for fan in decision.cancels:
            for child in await uow.runs.children(run.id, fan.step_id, fan.attempt):
                if not child.status.is_terminal:
                    cancel = Cancel(reason=CANCELLED_WITH_PARENT, by_parent=True)
                    pending.append(_Move(child.id, cancel, notify=False))
        if decision.collect is not None:
            pending.append(_Move(run.id, await self._join(uow, run, decision.collect)))

    async def _join(self, uow: UnitOfWork, parent: Run, fan: FanRef) -> Join:
        children = await uow.runs.children(parent.id, fan.step_id, fan.attempt)
        outputs = tuple(c.output if c.status is RunStatus.SUCCEEDED else None for c in children)
        errors = tuple(_child_error(child) for child in children)
        join = Join(step_id=fan.step_id, attempt=fan.attempt, outputs=outputs, errors=errors)
        try:
            as_bounded_json(list(outputs), "the joined outputs", self._max_output_bytes)
        except PayloadTooLarge as error:
            refused = ErrorInfo(error="output.too_large", message=str(error), retryable=False)
            return msgspec.structs.replace(join, error=refused)
        return join


def _end_child(child: Run) -> EndChild:
    link = child.parent
    assert link is not None
    return EndChild(
        step_id=link.step_id, attempt=link.attempt, index=link.index, error=_child_error(child)
    )


def _child_error(child: Run) -> ErrorInfo | None:
    """What an ended child did wrong: None when it succeeded; a cancelled one has no error of
    its own, so it gets ``run.cancelled``."""
    if child.status is RunStatus.SUCCEEDED:
        return None
    if child.error is not None:
        return child.error
    return ErrorInfo(error="run.cancelled", message="the run was cancelled", retryable=False)
