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

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from wfa.application.errors import ConcurrencyConflict
from wfa.application.payloads import PayloadTooLarge, as_bounded_json
from wfa.application.ports.repositories import UnitOfWork
from wfa.domain import machine
from wfa.domain.commands import Cancel, Create, EndChild, Join, RunCommand, Start
from wfa.domain.definition import Definition
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import TERMINAL_EVENTS, ErrorInfo, Event
from wfa.domain.fan_out import FanRef, Spawn
from wfa.domain.progress import Decision, EngineSettings
from wfa.domain.run import Run, RunStatus
from wfa.domain.workflow import Workflow

CANCELLED_WITH_PARENT = "the step that started this run ended before it did"
FAN_PAYLOAD_FACTOR = 64
"""All the children of one fan attempt may hold this many run inputs' worth of input and
items together: a 10,000-item map cannot copy a large input 10,000 times."""
_encoder = msgspec.json.Encoder()


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

    async def save(self, uow: UnitOfWork, before: Run | None, decision: Decision) -> list[Decision]:
        """Store ``decision`` (taken on ``before``; None: it created the run) and everything
        it asks of other runs. Returns the decisions taken on other runs, to deliver after
        the commit."""
        others: list[Decision] = []
        pending: deque[_Move] = deque()
        await self._store(uow, before, decision, True, pending, first=True)
        try:
            while pending:
                move = pending.popleft()
                taken = await self._decide(uow, move, pending)
                if taken is not None:
                    others.append(taken)
        except FamilyConflict:
            raise
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
        return decision

    async def _store(
        self,
        uow: UnitOfWork,
        before: Run | None,
        decision: Decision,
        notify: bool,
        pending: deque[_Move],
        first: bool = False,
    ) -> None:
        run = decision.run
        ended = any(isinstance(event, TERMINAL_EVENTS) for event in decision.events)
        link = run.parent
        if notify and ended and link is not None and link.wait:
            # Parent before child: the order a cancel takes them in too.
            await uow.runs.get(link.run_id, for_update=True)
        if before is None:
            await uow.runs.add(run, decision.events)
        else:
            try:
                await uow.runs.save(run, decision.events, expected_seq=before.seq)
            except ConcurrencyConflict as conflict:
                if first:  # nothing is staged yet: an ordinary lost race
                    raise
                raise FamilyConflict(run.id, before.seq) from conflict
        try:
            await self._follow(uow, run, decision, notify, pending)
        except FamilyConflict:
            raise
        except ConcurrencyConflict as conflict:  # this run's change is staged already
            raise FamilyConflict(conflict.run_id, -1) from conflict

    async def _follow(
        self, uow: UnitOfWork, run: Run, decision: Decision, notify: bool, pending: deque[_Move]
    ) -> None:
        ended = any(isinstance(event, TERMINAL_EVENTS) for event in decision.events)
        link = run.parent
        if notify and ended and link is not None and link.wait:
            pending.append(_Move(link.run_id, _end_child(run)))
        failed_spawns = await self._spawn(uow, run, decision.spawns, pending)
        for child_id in decision.starts:
            if child_id not in failed_spawns:
                pending.append(_Move(child_id, Start()))
        for spawn in decision.spawns:
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

    async def _spawn(
        self, uow: UnitOfWork, parent: Run, spawns: tuple[Spawn, ...], pending: deque[_Move]
    ) -> set[str]:
        """Create the children, pending; the ids of those that could not be created."""
        failed: set[str] = set()
        made: list[tuple[Run, tuple[Event, ...]]] = []
        refused = self._too_large(spawns)
        if refused is not None:
            link = spawns[0].parent
            join = Join(
                step_id=link.step_id, attempt=link.attempt, outputs=(), errors=(), error=refused
            )
            pending.append(_Move(parent.id, join))
            return {spawn.run_id for spawn in spawns}
        earlier = await self._earlier_children(uow, parent, spawns)
        for spawn in spawns:
            workflow_id, version = parent.workflow_id, parent.workflow_version
            if spawn.workflow is not None:
                found = await self._workflow(uow, spawn)
                if isinstance(found, ErrorInfo):
                    failed.add(spawn.run_id)
                    link = spawn.parent
                    end = EndChild(
                        step_id=link.step_id, attempt=link.attempt, index=link.index, error=found
                    )
                    pending.append(_Move(parent.id, end))
                    continue
                workflow_id, version = found.id, found.version
            create = Create(
                run_id=spawn.run_id,
                workflow_id=workflow_id,
                workflow_version=version,
                input=spawn.input,
                trigger=spawn.parent.kind,
                parent=spawn.parent,
                scope=spawn.scope,
                item=spawn.item,
                depth=parent.depth + 1,
                run_budget=spawn.run_budget,
            )
            before = earlier.get(spawn.parent.index)
            if before is not None and _same_place(before, create):
                # Its parent counts it when its turn to start comes (see _decide).
                created = machine.carry(create, before.output, self._now())
            else:
                created = machine.create(create, self._now())
            made.append((created.run, created.events))
        if made:
            await uow.runs.add_many(made)
        return failed

    def _too_large(self, spawns: tuple[Spawn, ...]) -> ErrorInfo | None:
        """Why the children's inputs may not be written, if they may not: each one must fit
        in a run's input, and all of them together in ``FAN_PAYLOAD_FACTOR`` of those."""
        if not spawns:
            return None
        most = self._max_output_bytes
        shared = len(_encoder.encode(spawns[0].input))  # one value, copied into each child
        items = [len(_encoder.encode(spawn.item)) for spawn in spawns]
        total = shared * len(spawns) + sum(items)
        if shared + max(items) <= most and total <= FAN_PAYLOAD_FACTOR * most:
            return None
        message = (
            f"the children's inputs and items come to {total:,} bytes ({shared:,} of input "
            f"each); each may hold {most:,} and all together {FAN_PAYLOAD_FACTOR * most:,} "
            f"(WFA_MAX_PAYLOAD_BYTES)"
        )
        return ErrorInfo(error="fan.too_large", message=message, retryable=False)

    async def _earlier_children(
        self, uow: UnitOfWork, parent: Run, spawns: tuple[Spawn, ...]
    ) -> dict[int, Run]:
        """The children that succeeded in the attempt a resumed fan goes on from, by index."""
        reuse = spawns[0].reuse_attempt if spawns else None
        if reuse is None:
            return {}
        step_id = spawns[0].parent.step_id
        return {
            child.parent.index: child
            for child in await uow.runs.children(parent.id, step_id, reuse)
            if child.parent is not None and child.status is RunStatus.SUCCEEDED
        }

    async def _workflow(self, uow: UnitOfWork, spawn: Spawn) -> Workflow | ErrorInfo:
        """The workflow a workflow step names, by id or else by name."""
        assert spawn.workflow is not None
        named = spawn.workflow
        workflow = await uow.workflows.get(named)
        if workflow is None:
            matches = await uow.workflows.by_name(named, limit=2)
            if len(matches) > 1:
                message = f"more than one workflow is named {named!r}: name it by its id"
                return ErrorInfo(error="workflow.ambiguous", message=message, retryable=False)
            workflow = matches[0] if matches else None
        if workflow is not None and spawn.version is not None:
            workflow = await uow.workflows.get(workflow.id, spawn.version)
        if workflow is None:
            which = named if spawn.version is None else f"{named} version {spawn.version}"
            message = f"there is no workflow {which}"
            return ErrorInfo(error="workflow.not_found", message=message, retryable=False)
        return workflow

    async def _join(self, uow: UnitOfWork, parent: Run, fan: FanRef) -> Join:
        children = await uow.runs.children(parent.id, fan.step_id, fan.attempt)
        outputs = tuple(c.output if c.status is RunStatus.SUCCEEDED else None for c in children)
        errors = tuple(None if c.status is RunStatus.SUCCEEDED else _error_of(c) for c in children)
        join = Join(step_id=fan.step_id, attempt=fan.attempt, outputs=outputs, errors=errors)
        try:
            as_bounded_json(list(outputs), "the joined outputs", self._max_output_bytes)
        except PayloadTooLarge as error:
            refused = ErrorInfo(error="output.too_large", message=str(error), retryable=False)
            return msgspec.structs.replace(join, error=refused)
        return join


def _same_place(before: Run, create: Create) -> bool:
    """Whether an earlier child did what this one would: the same workflow version, part of
    it and item."""
    return (before.workflow_id, before.workflow_version, before.scope, before.item) == (
        create.workflow_id,
        create.workflow_version,
        create.scope,
        create.item,
    )


def _end_child(child: Run) -> EndChild:
    link = child.parent
    assert link is not None
    error = None if child.status is RunStatus.SUCCEEDED else _error_of(child)
    return EndChild(step_id=link.step_id, attempt=link.attempt, index=link.index, error=error)


def _error_of(run: Run) -> ErrorInfo:
    if run.error is not None:
        return run.error
    return ErrorInfo(error="run.cancelled", message="the run was cancelled", retryable=False)
