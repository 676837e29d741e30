"""Register, version, read and delete workflows."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from wfa.application.errors import NotFound
from wfa.application.payloads import DEFAULT_MAX_JSON_DEPTH, check_storable
from wfa.application.ports.actions import ActionCatalog
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.application.ports.secrets import SecretCipher
from wfa.application.webhook_secrets import NO_CIPHER, has_webhook_secret, seal_new_secrets
from wfa.application.workflow_names import find_workflow
from wfa.domain.definition import Definition
from wfa.domain.limits import DEFAULT_LIMITS, DefinitionLimits
from wfa.domain.schedule import Schedule, schedules_for
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow


def _checked(
    raw: Any, actions: ActionCatalog, limits: DefinitionLimits, max_depth: int
) -> Definition:
    """The definition, once it is known to be storable (no NUL, not too deep) and valid."""
    check_storable(raw, "the definition", max_depth)
    return parse_definition(raw, actions.params_types(), limits)


async def _definition(
    raw: Any, actions: ActionCatalog, limits: DefinitionLimits, max_depth: int
) -> Definition:
    """Checked off the event loop: a large definition takes a while to check, and other
    requests (``/health`` included) must not wait for it. Linear work, bounded by ``limits``."""
    return await asyncio.to_thread(_checked, raw, actions, limits, max_depth)


async def _store(
    uow: UnitOfWork, workflow: Workflow, cipher: SecretCipher, current: Workflow | None = None
) -> Workflow:
    """Store a version, its webhook secrets sealed, and bring its schedules along:
    unchanged triggers keep their state. The stored version (secrets sealed)."""
    if has_webhook_secret(workflow.definition):
        previous = None if current is None else current.definition
        definition = seal_new_secrets(workflow.definition, workflow.id, cipher, previous)
        workflow = msgspec.structs.replace(workflow, definition=definition)
    await uow.workflows.add(workflow)
    existing = await uow.schedules.for_workflow(workflow.id)
    planned = schedules_for(workflow, existing, workflow.created_at)
    if planned or existing:
        await uow.schedules.replace(workflow.id, planned)
    return workflow


class _DefinitionWriter:
    """What every use case that stores a definition shares: its checks and its sealing."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actions: ActionCatalog,
        clock: Clock,
        *,
        limits: DefinitionLimits = DEFAULT_LIMITS,
        max_depth: int = DEFAULT_MAX_JSON_DEPTH,
        cipher: SecretCipher = NO_CIPHER,
    ) -> None:
        self._uow, self._actions, self._clock, self._cipher = uow, actions, clock, cipher
        self._limits, self._max_depth = limits, max_depth

    async def _definition(self, raw: Any) -> Definition:
        return await _definition(raw, self._actions, self._limits, self._max_depth)


class RegisterWorkflow(_DefinitionWriter):
    """Validate a definition and store it as version 1 of a new workflow."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actions: ActionCatalog,
        clock: Clock,
        entropy: Entropy,
        *,
        limits: DefinitionLimits = DEFAULT_LIMITS,
        max_depth: int = DEFAULT_MAX_JSON_DEPTH,
        cipher: SecretCipher = NO_CIPHER,
    ) -> None:
        super().__init__(uow, actions, clock, limits=limits, max_depth=max_depth, cipher=cipher)
        self._entropy = entropy

    async def execute(self, raw: Any) -> Workflow:
        definition = await self._definition(raw)
        workflow = Workflow(
            id=self._entropy.new_id(),
            version=1,
            definition=definition,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            workflow = await _store(uow, workflow, self._cipher)
            await uow.commit()
        return workflow


class UpdateWorkflow(_DefinitionWriter):
    """Store a new version; runs already started keep the version they started on."""

    async def execute(self, workflow_id: str, raw: Any) -> Workflow:
        """By id, or by name when one live workflow has it (AmbiguousWorkflow if several).
        A webhook secret sent back as the placeholder keeps the one stored for its path."""
        definition = await self._definition(raw)
        async with self._uow() as uow:
            current = await find_workflow(uow, workflow_id)
            if current is None:
                raise NotFound("workflow", workflow_id)
            workflow = Workflow(
                id=current.id,
                version=current.version + 1,
                definition=definition,
                created_at=self._clock.now(),
            )
            workflow = await _store(uow, workflow, self._cipher, current)
            await uow.commit()
        return workflow


class GetWorkflow:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, workflow_id: str, version: int | None = None) -> Workflow:
        """By id, or by name when one live workflow has it (AmbiguousWorkflow if several)."""
        async with self._uow() as uow:
            workflow = await find_workflow(uow, workflow_id, version)
        if workflow is None:
            raise NotFound("workflow", workflow_id)
        return workflow

    async def of_run(self, workflow_id: str, version: int) -> Workflow:
        """The version a run follows, by id: a deleted workflow keeps it for its runs."""
        async with self._uow() as uow:
            workflow = await uow.workflows.get(workflow_id, version)
        if workflow is None:
            raise NotFound("workflow", f"{workflow_id} v{version}")
        return workflow


class ListWorkflows:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, limit: int = 50, after: str | None = None) -> list[Workflow]:
        async with self._uow() as uow:
            return await uow.workflows.latest(limit, after)


class DeleteWorkflow:
    """Delete a workflow; its runs, and the versions they follow, are kept."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, workflow_id: str) -> None:
        """By id, or by name when one live workflow has it (AmbiguousWorkflow if several)."""
        async with self._uow() as uow:
            found = await find_workflow(uow, workflow_id)
            if found is None or not await uow.workflows.delete(found.id):
                raise NotFound("workflow", workflow_id)
            await uow.schedules.replace(found.id, [])
            await uow.commit()


class EnsureWorkflow(_DefinitionWriter):
    """Store a workflow under a fixed id unless that id was ever used: seeding is idempotent."""

    async def execute(self, workflow_id: str, raw: Any) -> tuple[Workflow, bool]:
        """The workflow, and whether this call created it."""
        definition = await self._definition(raw)
        async with self._uow() as uow:
            existing = await uow.workflows.get(workflow_id, version=1)
            if existing is not None:
                return existing, False
            workflow = Workflow(
                id=workflow_id, version=1, definition=definition, created_at=self._clock.now()
            )
            workflow = await _store(uow, workflow, self._cipher)
            await uow.commit()
        return workflow, True


class ListSchedules:
    """A workflow's schedule triggers with their next fire, last fire and held fire."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, workflow_id: str) -> list[Schedule]:
        async with self._uow() as uow:
            if await uow.workflows.get(workflow_id) is None:
                raise NotFound("workflow", workflow_id)
            return await uow.schedules.for_workflow(workflow_id)
