"""Start a run of a workflow, once per idempotency key."""

from __future__ import annotations

from typing import Any

import msgspec

from wfa.application.errors import DuplicateRun, NotFound
from wfa.application.payloads import (
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_PAYLOAD_BYTES,
    as_bounded_json,
    check_storable,
)
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.application.run_transitions import RunTransitions
from wfa.application.workflow_names import find_workflow
from wfa.domain import machine
from wfa.domain.commands import Create, Start
from wfa.domain.events import Event
from wfa.domain.progress import Decision
from wfa.domain.workflow import Workflow


class StartRunRequest(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: str
    input: Any = None
    trigger: str = "manual"
    idempotency_key: str | None = None


class StartedRun(msgspec.Struct, frozen=True, kw_only=True):
    run_id: str
    created: bool  # False when the idempotency key returned an earlier run


class StartRun:
    """Create the run and move it to its first task in one transaction, then queue its job."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        transitions: RunTransitions,
        clock: Clock,
        entropy: Entropy,
        max_input_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_depth: int = DEFAULT_MAX_JSON_DEPTH,
    ) -> None:
        self._uow, self._transitions = uow, transitions
        self._clock, self._entropy = clock, entropy
        self._max_input_bytes, self._max_depth = max_input_bytes, max_depth

    async def execute(self, request: StartRunRequest) -> StartedRun:
        """Raise PayloadTooLarge, PayloadTooDeep, UnstorableText or NotJson for an input
        the engine will not keep."""
        self.check_input(request)
        try:
            async with self._uow() as uow:
                # Named by its id or its name: idempotency keys belong to the id.
                workflow = await find_workflow(uow, request.workflow_id)
                if workflow is None:
                    raise NotFound("workflow", request.workflow_id)
                request = msgspec.structs.replace(request, workflow_id=workflow.id)
                existing = await self.existing_run(uow, request)
                if existing is not None:
                    return StartedRun(run_id=existing, created=False)
                decision = await self.start_in(uow, request, workflow)
                await uow.commit()
        except DuplicateRun:
            return await self.raced(request)
        await self._transitions.deliver(decision)
        return StartedRun(run_id=decision.run.id, created=True)

    def check_input(self, request: StartRunRequest) -> None:
        """Raise PayloadTooLarge, PayloadTooDeep, UnstorableText or NotJson for an input
        the engine will not keep."""
        as_bounded_json(request.input, "the run's input", self._max_input_bytes, self._max_depth)
        check_storable(request.idempotency_key, "the idempotency key")

    async def raced(self, request: StartRunRequest) -> StartedRun:
        """The run of the caller that committed the same key between our read and our write."""
        async with self._uow() as uow:
            existing = await self.existing_run(uow, request)
        assert existing is not None, "a duplicate key names a stored run"
        return StartedRun(run_id=existing, created=False)

    async def deliver(self, decision: Decision) -> None:
        """Queue the first job of a run created by ``start_in``, once its commit is done."""
        await self._transitions.deliver(decision)

    async def existing_run(self, uow: UnitOfWork, request: StartRunRequest) -> str | None:
        """The run an earlier request with the same idempotency key started, if any."""
        if request.idempotency_key is None:
            return None
        run = await uow.runs.by_idempotency_key(request.workflow_id, request.idempotency_key)
        return None if run is None else run.id

    async def start_in(
        self, uow: UnitOfWork, request: StartRunRequest, workflow: Workflow | None = None
    ) -> Decision:
        """Create the run inside ``uow``'s transaction; the caller commits, then delivers.

        The run follows ``workflow`` when given (a version the caller read in ``uow``),
        else the latest version. Raises NotFound for a workflow that is not there (or
        deleted), DuplicateRun (at once or at commit) for an idempotency key that is taken.
        """
        if workflow is None:
            workflow = await uow.workflows.get(request.workflow_id)
        if workflow is None:
            raise NotFound("workflow", request.workflow_id)
        assert workflow.id == request.workflow_id, "the run starts the workflow it names"
        now = self._clock.now()
        created = machine.create(
            Create(
                run_id=self._entropy.new_id(),
                workflow_id=workflow.id,
                workflow_version=workflow.version,
                input=request.input,
                trigger=request.trigger,
                idempotency_key=request.idempotency_key,
            ),
            now,
        )
        started = machine.decide(
            workflow.definition, created.run, Start(), now, self._transitions.settings
        )
        events: tuple[Event, ...] = created.events + started.events
        first = msgspec.structs.replace(started, events=events)
        return await self._transitions.store_new(uow, first)
