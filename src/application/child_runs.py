"""Creating a fan's children: each one's workflow, input bounds, and what a resume carries over.

Part of what ``RunFamily`` does for a decision that opened a parallel, map or workflow step,
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from wfa.application.errors import AmbiguousWorkflow
from wfa.application.ports.repositories import UnitOfWork
from wfa.application.workflow_names import find_workflow
from wfa.domain import machine
from wfa.domain.children import Spawn
from wfa.domain.commands import Create, EndChild, Join
from wfa.domain.events import ErrorInfo, Event
from wfa.domain.on_failure import ON_FAILURE
from wfa.domain.run import Run, RunStatus
from wfa.domain.workflow import Workflow

FAN_PAYLOAD_FACTOR = 64
"""All the children of one fan attempt may hold this many run inputs' worth of input and
items together: a 10,000-item map cannot copy a large input 10,000 times."""
_encoder = msgspec.json.Encoder()


class Created(msgspec.Struct, frozen=True, kw_only=True):
    """What creating a fan's children came to: the ids not created, and what the parent
    must be told about them (an EndChild for a workflow not found, a Join that fails)."""

    failed: set[str]
    refusals: list[EndChild | Join]


class ChildRuns:
    def __init__(self, now: Callable[[], Any], max_input_bytes: int) -> None:
        self._now = now
        self._max_input_bytes = max_input_bytes

    async def create(self, uow: UnitOfWork, parent: Run, spawns: tuple[Spawn, ...]) -> Created:
        """Create the children, pending (or ended already, when a resume carries one over)."""
        failed: set[str] = set()
        refusals: list[EndChild | Join] = []
        made: list[tuple[Run, tuple[Event, ...]]] = []
        spawns = tuple(self._fitted(spawn) for spawn in spawns)
        refused = self._too_large(spawns)
        if refused is not None:
            link = spawns[0].parent
            join = Join(
                step_id=link.step_id, attempt=link.attempt, outputs=(), errors=(), error=refused
            )
            return Created(failed={spawn.run_id for spawn in spawns}, refusals=[join])
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
                    refusals.append(end)
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
                # An error workflow's run stands on its own, not under the run that failed.
                depth=0 if spawn.parent.kind == ON_FAILURE else parent.depth + 1,
                run_budget=spawn.run_budget,
                handles_failure=parent.handles_failure or spawn.parent.kind == ON_FAILURE,
            )
            before = earlier.get(spawn.parent.index)
            if before is not None and _same_place(before, create):
                # Its parent counts it when its turn to start comes (RunFamily._decide).
                created = machine.carry(create, before.output, self._now())
            else:
                created = machine.create(create, self._now())
            made.append((created.run, created.events))
        if made:
            await uow.runs.add_many(made)
        return Created(failed=failed, refusals=refusals)

    def _fitted(self, spawn: Spawn) -> Spawn:
        """An error workflow's input without the failed run's input when both together
        would not fit in a run input: the failure is still reported."""
        if spawn.parent.kind != ON_FAILURE:
            return spawn
        if len(_encoder.encode(spawn.input)) <= self._max_input_bytes:
            return spawn
        trimmed = {**spawn.input, "input": None, "input_omitted": True}
        return msgspec.structs.replace(spawn, input=trimmed)

    def _too_large(self, spawns: tuple[Spawn, ...]) -> ErrorInfo | None:
        """Why the children's inputs may not be written, if they may not: each one must fit
        in a run's input, and all of them together in ``FAN_PAYLOAD_FACTOR`` of those."""
        if not spawns:
            return None
        most = self._max_input_bytes
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
        try:
            workflow = await find_workflow(uow, spawn.workflow, spawn.version)
        except AmbiguousWorkflow as error:
            return ErrorInfo(error="workflow.ambiguous", message=str(error), retryable=False)
        if workflow is None:
            named = spawn.workflow
            which = named if spawn.version is None else f"{named} version {spawn.version}"
            message = f"there is no workflow {which}"
            return ErrorInfo(error="workflow.not_found", message=message, retryable=False)
        return workflow


def _same_place(before: Run, create: Create) -> bool:
    """Whether an earlier child did what this one would: the same workflow version, part of
    it and item."""
    return (before.workflow_id, before.workflow_version, before.scope, before.item) == (
        create.workflow_id,
        create.workflow_version,
        create.scope,
        create.item,
    )
