"""Published events: stored as they come, then handled once, by whichever process gets them.

``PublishEvent`` only stores the event (one transaction): once it has answered, the event is
in the database and nothing can lose it, whether any worker runs or not. ``HandleEvents``
(the scheduler every tick, and the API process right after accepting one) holds a batch of
unhandled events for a while, starts a run of each workflow whose event trigger matches,
offers the event to every run awaiting it, and marks it handled. A handler that dies lets
go when its hold runs out and another does it again: the runs it starts carry the key
``event:<id>``, and a run takes an event only once, so doing it twice changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

import msgspec

from wfa.application.errors import NotFound
from wfa.application.payloads import (
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_PAYLOAD_BYTES,
    as_bounded_json,
)
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.repositories import PublishedEvent, UnitOfWork, UnitOfWorkFactory
from wfa.application.run_transitions import RunTransitions
from wfa.application.use_cases.signals import MAX_KEY_LENGTH, check_key, check_name
from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.domain import machine
from wfa.domain.awaiting import EVENT_KEY_PREFIX
from wfa.domain.commands import OfferEvent
from wfa.domain.definition import EventTrigger
from wfa.domain.errors import ExpressionError
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET, Budget
from wfa.domain.expressions import condition_holds
from wfa.domain.run import Run
from wfa.domain.workflow import Workflow

log = logging.getLogger(__name__)

DEFAULT_EVENT_RETENTION = timedelta(days=7)
HOLD = timedelta(seconds=60)
PRUNE_EVERY = timedelta(minutes=10)  # a handler's hold on a batch; one that died lets go after it
OFFER_PAGE = 200  # awaiting runs read at a time
EVENT_TRIGGER = "event"
# Its id keys what it does (``event:<id>``) in columns of MAX_KEY_LENGTH characters.
MAX_EVENT_ID = MAX_KEY_LENGTH - len(EVENT_KEY_PREFIX)


class EventAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """An event stored: its id, and whether one with that id was stored before."""

    id: str
    duplicate: bool = False


class PublishEvent:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        entropy: Entropy,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_depth: int = DEFAULT_MAX_JSON_DEPTH,
    ) -> None:
        self._uow, self._clock, self._entropy = uow, clock, entropy
        self._max_bytes, self._max_depth = max_payload_bytes, max_depth

    async def execute(self, name: str, payload: Any, event_id: str | None = None) -> EventAccepted:
        check_name(name, "event")
        if event_id is not None:
            check_key(event_id, "an event's id", MAX_EVENT_ID)
        payload = as_bounded_json(payload, "the event's payload", self._max_bytes, self._max_depth)
        event = PublishedEvent(
            id=event_id or self._entropy.new_id(),
            name=name,
            payload=payload,
            received_at=self._clock.now(),
        )
        async with self._uow() as uow:
            added = await uow.published.add(event)
            if added:
                await uow.commit()
        return EventAccepted(id=event.id, duplicate=not added)


class HandleEvents:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        transitions: RunTransitions,
        start_run: StartRun,
        clock: Clock,
        retention: timedelta = DEFAULT_EVENT_RETENTION,
        expression_budget: int = DEFAULT_EXPRESSION_BUDGET,
    ) -> None:
        self._uow, self._transitions, self._start = uow, transitions, start_run
        self._clock, self._retention = clock, retention
        self._expression_budget = expression_budget
        self._next_prune = clock.now()

    async def execute(self, limit: int = 50) -> int:
        """Handle up to ``limit`` unhandled events; how many were taken."""
        now = self._clock.now()
        async with self._uow() as uow:
            events = await uow.published.claim(now, now + HOLD, limit)
            if events:
                await uow.commit()
        for event in events:
            try:
                await self._handle(event)
            except Exception:
                # Its hold runs out and it is tried again; the rest of the batch goes on.
                log.exception("handling the published event %s failed", event.id)
        if now >= self._next_prune:  # forgetting old events need not happen every tick
            self._next_prune = now + PRUNE_EVERY
            async with self._uow() as uow:
                if await uow.published.prune(now - self._retention, 500):
                    await uow.commit()
        return len(events)

    async def _handle(self, event: PublishedEvent) -> None:
        async with self._uow() as uow:
            workflows = await uow.workflows.by_event(event.name)
        for workflow in workflows:
            if self._starts(workflow, event):
                await self._start.execute(
                    StartRunRequest(
                        workflow_id=workflow.id,
                        input=event.payload,
                        idempotency_key=f"{EVENT_KEY_PREFIX}{event.id}",
                        trigger=EVENT_TRIGGER,
                    )
                )
        command = OfferEvent(name=event.name, payload=event.payload, event_id=event.id)
        after: str | None = None
        while True:
            async with self._uow() as uow:
                runs = await uow.runs.awaiting(event.name, after, OFFER_PAGE)
                # Decided first on the states just read, without writing: only the runs the
                # event matches cost a transaction (where it is decided again, on fresh state).
                takers = [run.id for run in runs if await self._would_take(uow, run, command)]
            for run_id in takers:
                await self._offer(run_id, command)
            if len(runs) < OFFER_PAGE:
                break
            after = runs[-1].id
        async with self._uow() as uow:
            await uow.published.handled(event.id, self._clock.now())
            await uow.commit()

    def _starts(self, workflow: Workflow, event: PublishedEvent) -> bool:
        """Whether one of the workflow's event triggers takes this event (its filter holds)."""
        for trigger in workflow.definition.triggers:
            if not isinstance(trigger, EventTrigger) or trigger.name != event.name:
                continue
            if trigger.filter is None:
                return True
            try:
                budget = Budget(self._expression_budget)
                if condition_holds(trigger.filter, event.payload, budget):
                    return True
            except ExpressionError as error:
                log.warning(
                    "the event filter of workflow %s failed: %s",
                    workflow.id,
                    error,
                    extra={"workflow_id": workflow.id},
                )
        return False

    async def _would_take(self, uow: UnitOfWork, run: Run, command: OfferEvent) -> bool:
        definition = await self._transitions.definition_of(uow, run)
        now, settings = self._clock.now(), self._transitions.settings
        return not machine.decide(definition, run, command, now, settings).ignored

    async def _offer(self, run_id: str, command: OfferEvent) -> None:
        key = f"{EVENT_KEY_PREFIX}{command.event_id}"

        async def unseen(uow: UnitOfWork, run: Run) -> bool:
            return await uow.runs.signal_by_key(run.id, key) is None

        with contextlib.suppress(NotFound):  # pruned since it was listed
            await self._transitions.apply(run_id, command, guard=unseen)
