"""Apply one command to a stored run: load, decide, save, then deliver jobs and events.

Every use case that moves a run goes through here, so each move is one transaction with an
optimistic check (the run's ``seq``), and jobs leave only after the state that names them is
committed. A lost race is decided again on fresh state; a job whose attempt was already
decided elsewhere comes out as an ignored decision.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from wfa.application.errors import ConcurrencyConflict, NotFound
from wfa.application.ports.clock import Clock
from wfa.application.ports.delivery import EventPublisher, JobQueue
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.domain import machine
from wfa.domain.commands import RunCommand
from wfa.domain.definition import Definition
from wfa.domain.progress import Decision, EngineSettings
from wfa.domain.run import Run

MAX_CONFLICT_RETRIES = 5


class Moved(msgspec.Struct, frozen=True, kw_only=True):
    """A command's decision together with the definition the run follows."""

    decision: Decision
    definition: Definition

    @property
    def run(self) -> Run:
        return self.decision.run


class RunTransitions:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        queue: JobQueue,
        publisher: EventPublisher,
        clock: Clock,
        settings: EngineSettings | None = None,
    ) -> None:
        self._uow = uow
        self._queue = queue
        self._publisher = publisher
        self._clock = clock
        self.settings = settings or EngineSettings()
        self._definitions = _DefinitionCache()

    async def apply(self, run_id: str, command: Callable[[Run], RunCommand] | RunCommand) -> Moved:
        """Decide ``command`` on the run and commit it; raise NotFound for an unknown run."""
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                moved = await self._apply_once(run_id, command)
            except ConcurrencyConflict:
                continue
            await self.deliver(moved.decision)
            return moved
        raise ConcurrencyConflict(run_id, -1)

    async def _apply_once(
        self, run_id: str, command: Callable[[Run], RunCommand] | RunCommand
    ) -> Moved:
        async with self._uow() as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run", run_id)
            definition = await self.definition_of(uow, run)
            wanted = command(run) if callable(command) else command
            decision = machine.decide(definition, run, wanted, self._clock.now(), self.settings)
            if not decision.ignored:
                await uow.runs.save(decision.run, decision.events, expected_seq=run.seq)
                await uow.commit()
        return Moved(decision=decision, definition=definition)

    async def definition_of(self, uow: UnitOfWork, run: Run) -> Definition:
        """The definition version a run follows; versions never change, so they are cached."""
        key = (run.workflow_id, run.workflow_version)
        cached = self._definitions.get(key)
        if cached is not None:
            return cached
        workflow = await uow.workflows.get(run.workflow_id, run.workflow_version)
        if workflow is None:
            raise NotFound("workflow version", f"{run.workflow_id}@{run.workflow_version}")
        self._definitions.put(key, workflow.definition)
        return workflow.definition

    async def deliver(self, decision: Decision) -> None:
        """After commit: send the decision's jobs, then tell followers what happened."""
        if decision.jobs:
            await self._queue.enqueue(decision.jobs)
        if decision.events:
            await self._publisher.publish(decision.run.id, decision.events)


class _DefinitionCache:
    """A bounded map of immutable definition versions; the oldest entry leaves first."""

    def __init__(self, size: int = 1024) -> None:
        self._known: dict[tuple[str, int], Definition] = {}
        self._size = size

    def get(self, key: tuple[str, int]) -> Definition | None:
        return self._known.get(key)

    def put(self, key: tuple[str, int], definition: Definition) -> None:
        if len(self._known) >= self._size:
            self._known.pop(next(iter(self._known)))
        self._known[key] = definition
