"""Apply one command to a stored run: load, decide, save, then deliver jobs and events.

Every use case that moves a run goes through here, so each move is one transaction with an
optimistic check (the run's ``seq``), and jobs leave only after the state that names them is
committed. A lost race is decided again on fresh state; a job whose attempt was already
decided elsewhere comes out as an ignored decision.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec

from wfa.application.errors import ConcurrencyConflict, NotFound
from wfa.application.log_context import log_context
from wfa.application.payloads import DEFAULT_MAX_PAYLOAD_BYTES
from wfa.application.ports.clock import Clock
from wfa.application.ports.delivery import EventPublisher, JobQueue
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.application.run_family import RunFamily
from wfa.domain import machine
from wfa.domain.commands import BeginAttempt, RunCommand
from wfa.domain.definition import Definition
from wfa.domain.progress import Decision, EngineSettings, Job
from wfa.domain.run import AttemptStatus, Run

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 5
_Key = tuple[str, int, str | None]  # workflow id, version, scope
Guard = Callable[["UnitOfWork", Run], Awaitable[bool]]


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
        max_output_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self._uow = uow
        self._queue = queue
        self._publisher = publisher
        self._clock = clock
        self.settings = settings or EngineSettings()
        self._definitions = _DefinitionCache()
        self._family = RunFamily(self.definition_of, self.settings, clock.now, max_output_bytes)

    async def apply(
        self,
        run_id: str,
        command: Callable[[Run], RunCommand] | RunCommand,
        *,
        claim_next: bool = False,
        guard: Guard | None = None,
        known: Run | None = None,
    ) -> Moved:
        """Decide ``command`` on the run and commit it; raise NotFound for an unknown run.

        With ``claim_next``, a task the run moves on to is claimed for the caller in the same
        transaction instead of being queued: the steady path costs one transaction a step.
        ``guard`` is asked first, in the same transaction; when it says no, nothing is decided
        (an ignored decision comes back), as for a request seen before under its key.
        ``known`` is the run as the caller last stored it: the first decision is taken on it
        without reading the run again, and the write's ``seq`` check tells whether it was
        still current (if not, the run is read and the command decided again).
        """
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                moved = await self._apply_once(run_id, command, claim_next, guard, known)
            except ConcurrencyConflict as conflict:
                known = None
                # Rare by design (a run's writers queue on its row where they can): each one
                # is worth seeing, and the benchmarks count them.
                log.info(
                    "decided again after a concurrent change", extra={"run_id": conflict.run_id}
                )
                continue
            await self.deliver(moved.decision)
            return moved
        raise ConcurrencyConflict(run_id, -1)

    async def _apply_once(
        self,
        run_id: str,
        command: Callable[[Run], RunCommand] | RunCommand,
        claim_next: bool,
        guard: Guard | None,
        known: Run | None = None,
    ) -> Moved:
        async with self._uow() as uow:
            run = known if known is not None else await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run", run_id)
            if guard is not None and not await guard(uow, run):
                definition = await self.definition_of(uow, run)
                return Moved(decision=Decision(run=run), definition=definition)
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
            others = await self._family.save(uow, run, decision)
            if others:
                decision = msgspec.structs.replace(decision, others=tuple(others))
        return Moved(decision=decision, definition=definition, claimed=claimed)

    async def store_new(self, uow: UnitOfWork, decision: Decision) -> Decision:
        """Store a run's first decision in ``uow`` (the caller commits) with what it asks of
        other runs; deliver the decision returned, once committed."""
        others = await self._family.save(uow, None, decision)
        return msgspec.structs.replace(decision, others=tuple(others)) if others else decision

    def _claim_next(
        self, definition: Definition, decision: Decision, now: datetime
    ) -> tuple[Decision, Job | None]:
        job = next((job for job in decision.jobs if job.run_id == decision.run.id), None)
        if job is None:
            return decision, None
        begin = BeginAttempt(step_id=job.step_id, attempt=job.attempt)
        claimed = machine.decide(definition, decision.run, begin, now, self.settings)
        # The claim may end the run (its history budget): what that ending asks for is kept.
        merged = msgspec.structs.replace(
            decision,
            run=claimed.run,
            events=decision.events + claimed.events,
            jobs=tuple(other for other in decision.jobs if other != job),
            spawns=decision.spawns + claimed.spawns,
            starts=decision.starts + claimed.starts,
            notices=decision.notices + claimed.notices,
        )
        # The claim itself may end the run (its history budget): then nothing is held.
        return merged, job if holds(claimed.run, job) else None

    def now(self) -> datetime:
        return self._clock.now()

    async def definition_of(self, uow: UnitOfWork, run: Run) -> Definition:
        """The steps a run follows (its workflow version's, or the part of them a branch or
        iteration runs); versions never change, so they are cached."""
        key = (run.workflow_id, run.workflow_version, run.scope)
        cached = self._definitions.get(key)
        if cached is not None:
            return cached
        workflow = await uow.workflows.get(run.workflow_id, run.workflow_version)
        if workflow is None:
            raise NotFound("workflow version", f"{run.workflow_id}@{run.workflow_version}")
        definition = workflow.definition.scoped(run.scope)
        self._definitions.put(key, definition)
        return definition

    async def deliver(self, decision: Decision) -> None:
        """After commit: send the decision's jobs, then tell followers what happened; the
        same for each decision taken on a related run in the same transaction."""
        jobs = [job for each in _all(decision) for job in each.jobs]
        if jobs:
            await self._queue.enqueue(jobs)
        for each in _all(decision):
            await self._publish(each)

    async def _publish(self, decision: Decision) -> None:
        if decision.events:
            # Every publisher (the run log among them) sees which run and workflow it is about.
            run = decision.run
            with log_context(run_id=run.id, workflow_id=run.workflow_id):
                await self._publisher.publish(run.id, decision.events)


def _all(decision: Decision) -> list[Decision]:
    return [decision, *decision.others]


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
        self._known: dict[_Key, Definition] = {}
        self._size = size

    def get(self, key: _Key) -> Definition | None:
        return self._known.get(key)

    def put(self, key: _Key, definition: Definition) -> None:
        if len(self._known) >= self._size:
            self._known.pop(next(iter(self._known)))
        self._known[key] = definition
