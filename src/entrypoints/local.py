"""An engine in one process on the in-memory adapters: for ``wfa run`` and for tests.

It wires the same use cases the server uses to the memory queue and events, and to memory
persistence unless another unit of work is given (the tests pass SQLite and PostgreSQL). It
drives runs to their
end: it works off queued jobs, fires due timers, and in between either sleeps until the next
timer (real time) or moves a fake clock straight to it (virtual time).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.actions.http import HttpRequest
from wfa.adapters.actions.http.notice_poster import HttpNoticePoster
from wfa.adapters.clock import FakeClock, SeededEntropy, SystemClock, SystemEntropy
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.observability.metrics import FanOutPublisher
from wfa.adapters.persistence.memory import MemoryStore
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.adapters.secrets.callback_tokens import SignedCallbackTokens
from wfa.adapters.secrets.fernet import FernetCipher, generate_key
from wfa.application.payloads import DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_PAYLOAD_BYTES
from wfa.application.ports.clock import Clock, Entropy
from wfa.application.ports.delivery import EventPublisher
from wfa.application.ports.notices import DeliveryFailed, NoticePoster
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.ports.secrets import SecretCipher
from wfa.application.run_transitions import RunTransitions
from wfa.application.use_cases.callbacks import CallbackLinks, UseCallback
from wfa.application.use_cases.control_run import CancelRun, RetryRun
from wfa.application.use_cases.events import HandleEvents, PublishEvent
from wfa.application.use_cases.execute_step import ExecuteStep
from wfa.application.use_cases.fire_due_timers import FireDueTimers
from wfa.application.use_cases.fire_schedules import DEFAULT_CATCHUP, FireSchedules
from wfa.application.use_cases.notices import SendNotices
from wfa.application.use_cases.queries import GetRun, ListChildren, RunDetails
from wfa.application.use_cases.secrets import ResolveSecrets, SetSecret
from wfa.application.use_cases.signals import DeliverSignal
from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.application.use_cases.workflows import RegisterWorkflow, UpdateWorkflow
from wfa.domain.commands import ResolveCallback
from wfa.domain.events import FanOpened
from wfa.domain.limits import DEFAULT_LIMITS, DefinitionLimits
from wfa.domain.progress import EngineSettings
from wfa.domain.run import AttemptStatus, Run
from wfa.domain.workflow import Workflow
from wfa.entrypoints.timeline_view import SHOWN_CHILDREN, Family, fan_key

LOCAL_URL = "http://127.0.0.1:8000"  # callback links of a local run: nobody can use them


class Answers(msgspec.Struct, kw_only=True):
    """What a local run is given as it waits: payloads by signal name, outputs by the step
    whose callback they answer; each is used once, in order."""

    signals: dict[str, list[Any]] = {}
    callbacks: dict[str, list[Any]] = {}
    events: dict[str, list[Any]] = {}


class _Unreachable:
    """Where notices go in an engine without http.request: nowhere, and it says so."""

    async def post(self, url: str, body: str, headers: dict[str, str], key: str) -> None:
        raise DeliveryFailed("this engine has no http.request to post notices", retryable=False)


class RunStuck(RuntimeError):
    """The run is unfinished, yet nothing is queued and no timer is set."""


class LocalEngine:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        entropy: Entropy | None = None,
        actions: ActionRegistry | None = None,
        settings: EngineSettings | None = None,
        unit_of_work: UnitOfWorkFactory | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        publisher: EventPublisher | None = None,
        schedule_catchup: timedelta = DEFAULT_CATCHUP,
        secret_cipher: SecretCipher | None = None,
        queue: InMemoryJobQueue | None = None,
        events: InMemoryEventPublisher | None = None,
        limits: DefinitionLimits = DEFAULT_LIMITS,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        poster: NoticePoster | None = None,
    ) -> None:
        """``publisher``, when given, is told of every event after ``self.events`` (metrics).

        ``queue`` and ``events`` replace the fresh in-memory ones (tests pass recording ones).

        Secrets (``self.set_secret``) are sealed with ``secret_cipher``, by default with a key
        made for this engine alone.
        """
        self.clock = clock or SystemClock()
        self.entropy = entropy or SystemEntropy()
        self.actions = actions or default_registry()
        self.queue = queue if queue is not None else InMemoryJobQueue()
        self.events = events if events is not None else InMemoryEventPublisher()
        uow = self._uow = unit_of_work or MemoryStore().unit_of_work
        self.unit_of_work = uow
        # self.events stays the memory publisher that followers read, whatever else
        # is told; FanOutPublisher keeps an extra publisher's failure from reaching the engine.
        published: EventPublisher = (
            self.events if publisher is None else FanOutPublisher(self.events, publisher)
        )
        self.transitions = RunTransitions(
            uow, self.queue, published, self.clock, settings, max_payload_bytes
        )
        self.secret_cipher = secret_cipher or FernetCipher.from_text(generate_key())
        cipher = self.secret_cipher
        depth = max_json_depth
        self.register = RegisterWorkflow(
            uow,
            self.actions,
            self.clock,
            self.entropy,
            limits=limits,
            max_depth=depth,
            cipher=cipher,
        )
        self.update = UpdateWorkflow(
            uow, self.actions, self.clock, limits=limits, max_depth=depth, cipher=cipher
        )
        limit = max_payload_bytes
        self.start_run = StartRun(
            uow, self.transitions, self.clock, self.entropy, limit, max_depth=depth
        )
        self.set_secret = SetSecret(uow, self.secret_cipher, self.clock)
        secrets = ResolveSecrets(uow, self.secret_cipher)
        tokens = SignedCallbackTokens([os.urandom(32)])  # this engine's links are its own
        self.execute_step = ExecuteStep(
            self.transitions,
            self.actions,
            self.entropy,
            limit,
            secrets=secrets,
            max_output_depth=depth,
            expression_budget=self.transitions.settings.expression_budget,
            callbacks=CallbackLinks(tokens, LOCAL_URL),
        )
        self.deliver_signal = DeliverSignal(self.transitions, limit, depth)
        self.use_callback = UseCallback(
            self.transitions, tokens, self.clock, self.entropy, limit, depth, uow=uow
        )
        self.fire_due_timers = FireDueTimers(uow, self.transitions, self.clock, self.entropy)
        self.fire_schedules = FireSchedules(uow, self.start_run, self.clock, schedule_catchup)
        http = self.actions.get("http.request")
        if poster is None and isinstance(http, HttpRequest):
            poster = HttpNoticePoster(http)
        self.send_notices = SendNotices(uow, poster or _Unreachable(), secrets, self.clock)
        self.publish_event = PublishEvent(uow, self.clock, self.entropy, limit, depth)
        self.handle_events = HandleEvents(
            uow,
            self.transitions,
            self.start_run,
            self.clock,
            expression_budget=self.transitions.settings.expression_budget,
        )
        self.cancel = CancelRun(self.transitions)
        self.retry = RetryRun(self.transitions)
        self.get_run = GetRun(uow)
        self.list_children = ListChildren(uow)

    @classmethod
    def virtual(cls, seed: int = 0, **options: Any) -> LocalEngine:
        """An engine on a fake clock that jumps to each timer: waits and backoffs take no time."""
        return cls(clock=FakeClock(), entropy=SeededEntropy(seed), **options)

    async def add_workflow(self, raw: Any) -> Workflow:
        return await self.register.execute(raw)

    async def start(
        self, workflow_id: str, input: Any = None, idempotency_key: str | None = None
    ) -> str:
        request = StartRunRequest(
            workflow_id=workflow_id, input=input, idempotency_key=idempotency_key
        )
        return (await self.start_run.execute(request)).run_id

    async def settle(
        self, run_id: str, max_rounds: int = 100_000, answers: Answers | None = None
    ) -> RunDetails:
        """Drive the engine until the run ends; return it with its attempts and history.

        ``answers`` are handed to the run as it waits for them: signals by name, callbacks
        by step, each used once, in the order given.
        """
        for _ in range(max_rounds):
            await self.queue.drain(self.execute_step.execute)
            if await self.fire_due_timers.execute() or await self.handle_events.execute():
                continue
            await self.send_notices.execute()
            details = await self.get_run.execute(run_id)
            if details.run.status.is_terminal:
                return details
            if len(self.queue):
                continue
            if answers is not None and await self._answer(details.run, answers):
                continue
            await self._until(details)
        raise RunStuck(f"run {run_id} did not finish within {max_rounds} rounds")

    async def _until(self, details: RunDetails) -> None:
        # A run waiting on its children waits on their timers: the earliest timer of any run.
        wake_at = details.run.wake_at or await self._next_timer()
        if wake_at is None:
            raise RunStuck(f"run {details.run.id} is {details.run.status} with nothing due")
        if isinstance(self.clock, FakeClock):
            self.clock.set(max(wake_at, self.clock.now()))
            return
        await asyncio.sleep(max(0.0, (wake_at - self.clock.now()).total_seconds()))

    async def _answer(self, run: Run, answers: Answers) -> bool:
        """Hand the run what it awaits, if it was given: True when something was handed."""
        attempt = run.attempt
        if attempt is None or attempt.status is not AttemptStatus.AWAITING:
            return False
        if attempt.event is not None:
            payloads = answers.events.get(attempt.event)
            if payloads:
                await self.publish_event.execute(attempt.event, payloads.pop(0))
                return True
            return False
        if attempt.signal is not None:
            payloads = answers.signals.get(attempt.signal)
            if payloads:
                await self.deliver_signal.execute(run.id, attempt.signal, payloads.pop(0))
                return True
            return False
        outputs = answers.callbacks.get(attempt.step_id)
        if not outputs:
            return False
        command = ResolveCallback(
            step_id=attempt.step_id, attempt=attempt.number, output=outputs.pop(0)
        )
        await self.transitions.apply(run.id, command)
        return True

    async def family(self, run_id: str, depth: int = 0) -> Family:
        """The run's details with its children's, for each of its fan attempts (the first
        ``SHOWN_CHILDREN`` of each), down to every level."""
        details = await self.get_run.execute(run_id)
        children: dict[str, list[Family]] = {}
        totals: dict[str, int] = {}
        for event in details.history:
            if isinstance(event, FanOpened):
                key = fan_key(event.step_id, event.attempt)
                page = await self.list_children.execute(
                    run_id, event.step_id, event.attempt, limit=SHOWN_CHILDREN
                )
                children[key] = [await self.family(child.id, depth + 1) for child in page.runs]
                totals[key] = event.total
        return Family(details=details, children=children, totals=totals)

    async def _next_timer(self) -> datetime | None:
        async with self._uow() as uow:
            first = await uow.runs.due(datetime.max.replace(tzinfo=UTC), 1)
            run = await uow.runs.get(first[0]) if first else None
        return None if run is None else run.wake_at

    async def run_once(self, raw: Any, input: Any = None) -> RunDetails:
        """Register a definition, run it once to its end, and return the finished run."""
        workflow = await self.add_workflow(raw)
        return await self.settle(await self.start(workflow.id, input))

    async def aclose(self) -> None:
        """Release what actions hold open (http.request's pooled connections)."""
        for name in list(self.actions.names()):
            close = getattr(self.actions.get(name), "aclose", None)
            if close is not None:
                await close()
