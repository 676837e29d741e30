"""Apply one command to a stored run: load, decide, save, then deliver jobs and events.

Every use case that moves a run goes through here, so each move is one transaction with an
optimistic check (the run's ``seq``), and jobs leave only after the state that names them is
committed. A lost race is decided again on fresh state; a job whose attempt was already
decided elsewhere comes out as an ignored decision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

from wfa.application.errors import ConcurrencyConflict, NotFound
from wfa.application.log_context import log_context
from wfa.application.ports.clock import Clock
from wfa.application.ports.delivery import EventPublisher, JobQueue
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.domain import machine
from wfa.domain.commands import BeginAttempt, RunCommand
from wfa.domain.definition import Definition
from wfa.domain.progress import Decision, EngineSettings, Job
from wfa.domain.run import AttemptStatus, Run

MAX_CONFLICT_RETRIES = 5


class Moved(msgspec.Struct, frozen=True, kw_only=True):
    """A command's decision together with the definition the run follows.

    ``claimed`` is the run's next attempt when the caller asked to take it in the same
    transaction (``claim_next``): it is already running, held by the caller, not queued.
    """

    decision: Decision
    definition: Definition
    claimed: Job | None = None

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

    async def apply(
        self,
        run_id: str,
        command: Callable[[Run], RunCommand] | RunCommand,
        *,
        claim_next: bool = False,
    ) -> Moved:
        """Decide ``command`` on the run and commit it; raise NotFound for an unknown run.

        With ``claim_next``, a task the run moves on to is claimed for the caller in the same
        transaction instead of being queued: the steady path costs one transaction a step.
        """
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                moved = await self._apply_once(run_id, command, claim_next)
            except ConcurrencyConflict:
                continue
            await self.deliver(moved.decision)
            return moved
        raise ConcurrencyConflict(run_id, -1)

    async def _apply_once(
        self, run_id: str, command: Callable[[Run], RunCommand] | RunCommand, claim_next: bool
    ) -> Moved:
        async with self._uow() as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run", run_id)
            moved = await self.decide_in(uow, run, command, claim_next=claim_next)
            if not moved.decision.ignored:
                await uow.commit()
        return moved

    async def decide_in(
        self,
        uow: UnitOfWork,
        run: Run,
        command: Callable[[Run], RunCommand] | RunCommand,
        *,
        claim_next: bool = False,
    ) -> Moved:
        """Decide on a run read in ``uow`` and stage the change there; the caller commits."""
        definition = await self.definition_of(uow, run)
        wanted = command(run) if callable(command) else command
        now = self._clock.now()
        decision = machine.decide(definition, run, wanted, now, self.settings)
        claimed = None
        if claim_next and not decision.ignored:
            decision, claimed = self._claim_next(definition, decision, now)
        if not decision.ignored:
            await uow.runs.save(decision.run, decision.events, expected_seq=run.seq)
        return Moved(decision=decision, definition=definition, claimed=claimed)

    def _claim_next(
        self, definition: Definition, decision: Decision, now: datetime
    ) -> tuple[Decision, Job | None]:
        job = next((job for job in decision.jobs if job.run_id == decision.run.id), None)
        if job is None:
            return decision, None
        begin = BeginAttempt(step_id=job.step_id, attempt=job.attempt)
        claimed = machine.decide(definition, decision.run, begin, now, self.settings)
        merged = Decision(
            run=claimed.run,
            events=decision.events + claimed.events,
            jobs=tuple(other for other in decision.jobs if other != job),
        )
        # The claim itself may end the run (its history budget): then nothing is held.
        return merged, job if holds(claimed.run, job) else None

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
            # Every publisher (the run log among them) sees which run and workflow it is about.
            run = decision.run
            with log_context(run_id=run.id, workflow_id=run.workflow_id):
                await self._publisher.publish(run.id, decision.events)


def holds(run: Run, job: Job) -> bool:
    """Whether the run's current attempt is the job's and running: a claim that took hold."""
    attempt = run.attempt
    return (
        attempt is not None
        and (attempt.step_id, attempt.number) == (job.step_id, job.attempt)
        and attempt.status is AttemptStatus.RUNNING
    )


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
