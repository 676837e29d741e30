"""One decision in the making: records events onto the run and walks it to its next task.

``Progress`` is the only writer of events. Choice, wait, succeed and fail steps are passed
inline, in the same decision, so a run moves from one task straight to the next.

It also keeps the run's history budget: a run holds at most ``budget`` events, and the last
slot is kept for an ending. An event that would take it instead ends the run there with
``run.history_limit``, so a workflow that loops for ever stops with a bounded history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from wfa.domain.awaiting import callback_deadline, enter_await
from wfa.domain.children import FanRef, Spawn
from wfa.domain.definition import (
    ATTEMPTED_STEPS,
    END,
    AttemptedStep,
    AwaitStep,
    ChoiceStep,
    Definition,
    FailStep,
    Step,
    SucceedStep,
    TaskStep,
    WaitStep,
    WorkflowStep,
)
from wfa.domain.errors import ExpressionError, ExpressionTooCostly
from wfa.domain.events import (
    AttemptFailed,
    AttemptQueued,
    AttemptScheduled,
    ChildEnded,
    ChildrenStarted,
    ChoiceMade,
    ErrorInfo,
    Event,
    RunCancelled,
    RunFailed,
    RunSucceeded,
    StepCaught,
    WaitEnded,
    WaitStarted,
)
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET, Budget
from wfa.domain.expressions import condition_holds, render
from wfa.domain.fan_out import open_fan
from wfa.domain.notices import Notice, notices_for
from wfa.domain.on_failure import error_workflow_run
from wfa.domain.run import Run, evolve

DEFAULT_MAX_EVENTS = 10_000
HISTORY_LIMIT = "run.history_limit"
"""The error of a run that used up its history budget: not retried, not caught, not resumed."""
ENDINGS = (RunSucceeded, RunFailed, RunCancelled)
UNCHARGED = (ChildrenStarted, ChildEnded)  # a fan's counting: bounded by its items instead


class HistoryFull(Exception):
    """The run reached its history budget and ended: the decision stops where it is."""


class EngineSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Timing the engine applies to every run."""

    lease: float = 60.0  # seconds a worker holds an attempt without extending it
    redeliver_after: float = 30.0  # seconds before an unstarted queued job is sent again
    max_inline_steps: int = 1000  # choice and wait steps passed in one decision at most
    max_events: int = DEFAULT_MAX_EVENTS  # a run's history budget; a definition may lower it
    # Units the expressions of one decision may spend together (see expression_cost).
    expression_budget: int = DEFAULT_EXPRESSION_BUDGET
    max_depth: int = 10  # parents a run may have: sub-workflows, branches and iterations
    max_map_items: int = 10_000  # items one map step's attempt may run over
    # Runs one run may have under it, all levels together: split evenly among its children.
    max_family_runs: int = 100_000
    max_pending_signals: int = 100  # signals a run keeps that no step has taken yet


class Job(msgspec.Struct, frozen=True, array_like=True):
    """Deliver to a worker: run this attempt of this step. Small on the wire on purpose."""

    run_id: str
    step_id: str
    attempt: int


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The run after a command, the events that got it there, and the jobs to deliver.

    A parallel, map or workflow step also asks for work on other runs, done in the same
    transaction: children to create (``spawns``) and start (``starts``, by run id), the
    unfinished children of a fan to cancel (``cancels``), and the outputs of a fan whose
    children all ended to be read and handed back as a Join (``collect``).
    """

    run: Run
    events: tuple[Event, ...] = ()
    jobs: tuple[Job, ...] = ()
    spawns: tuple[Spawn, ...] = ()
    starts: tuple[str, ...] = ()
    cancels: tuple[FanRef, ...] = ()
    collect: FanRef | None = None
    # What the workflow's notify targets are to be told (stored with the decision).
    notices: tuple[Notice, ...] = ()
    # Decisions the engine took on related runs (children, a parent) in the same transaction.
    others: tuple[Decision, ...] = ()

    @property
    def ignored(self) -> bool:
        """True when the command changed nothing (a duplicate or stale delivery)."""
        return not self.events


def _detached(step: Step) -> bool:
    return isinstance(step, WorkflowStep) and not step.wait


def _failure_kind(step: Step, error: Exception) -> str:
    """The named error of an inline step whose expression or timestamp failed."""
    if isinstance(error, ExpressionTooCostly):
        return error.code  # the budget ran out: say so, whatever the step
    return "wait.invalid_until" if isinstance(step, WaitStep) else "expression.error"


class Progress:
    def __init__(
        self, definition: Definition, run: Run, now: datetime, settings: EngineSettings
    ) -> None:
        self.definition = definition
        self.run = run
        self.now = now
        self.settings = settings
        self.budget = definition.event_budget(settings.max_events)
        self.costs = Budget(settings.expression_budget)
        self._events: list[Event] = []
        self._jobs: list[Job] = []
        self.spawns: list[Spawn] = []
        self.starts: list[str] = []
        self.collect: FanRef | None = None
        self.resuming: str | None = None  # the step a resumed run goes on from
        self._fan_before = run.fan

    def decision(self) -> Decision:
        # A fan the run left (failed, cancelled, out of budget) before all its children ended
        # leaves them nothing to do: they are cancelled with this decision.
        before, now = self._fan_before, self.run.fan
        left = (
            before is not None
            and before.unfinished
            and (now is None or (now.step_id, now.attempt) != (before.step_id, before.attempt))
            # A sub-workflow started with wait: false lives on its own.
            and not _detached(self.definition.step(before.step_id))
        )
        cancels = (FanRef(before.step_id, before.attempt),) if left and before else ()
        spawns, starts = list(self.spawns), list(self.starts)
        alarm = error_workflow_run(self.definition, self.run, self._events)
        if alarm is not None:
            spawns.append(alarm)
            starts.append(alarm.run_id)
        return Decision(
            run=self.run,
            events=tuple(self._events),
            jobs=tuple(self._jobs),
            spawns=tuple(spawns),
            starts=tuple(starts),
            cancels=cancels,
            collect=self.collect,
            notices=notices_for(self.definition, self.run, self._events),
        )

    def room_to_go_on(self) -> bool:
        """Whether one more event fits and still leaves the last slot for an ending."""
        return self.run.budgeted_events + 1 < self.budget

    def record(self, kind: type[Event], **fields: Any) -> None:
        """Append an event; raise HistoryFull when it ended the run on its budget instead."""
        charged = not issubclass(kind, ENDINGS + UNCHARGED)
        if charged and not self.room_to_go_on():
            self._spend_budget(fields.get("step_id"))
        self._append(kind(seq=self.run.seq + 1, at=self.now, **fields))

    def _append(self, event: Event) -> None:
        self.run = evolve(self.run, event)
        self._events.append(event)

    def _spend_budget(self, step_id: str | None) -> None:
        # The run ends at the step it was at (a failed run always names one); any job this
        # decision made is dropped, since the run that would take it is over.
        where = step_id or self.run.current_step or self.definition.start.id
        message = f"the run's history reached its limit of {self.budget} events"
        error = ErrorInfo(error=HISTORY_LIMIT, message=message, retryable=False)
        self._append(RunFailed(seq=self.run.seq + 1, at=self.now, error=error, step_id=where))
        self._jobs.clear()
        self.spawns.clear()
        self.starts.clear()
        self.collect = None
        raise HistoryFull(message)

    def go_to(self, target: str) -> None:
        """Enter ``target`` and pass inline steps until a task, a pending wait or the end."""
        passed = 0  # choice and wait steps passed in this decision
        while True:
            if target == END:
                self.record(RunSucceeded, output=self.run.last_output)
                return
            step = self.definition.step(target)
            if isinstance(step, ATTEMPTED_STEPS):
                self._schedule(step, try_number=1, delay=0.0)
                return
            if isinstance(step, ChoiceStep | WaitStep):
                if passed == self.settings.max_inline_steps:
                    break  # one more would pass the limit: the run fails here, at this step
                passed += 1
            try:
                following = self._pass(step)
            except (ExpressionError, ValueError) as error:
                kind = _failure_kind(step, error)
                self._fail_run(ErrorInfo(error=kind, message=str(error), retryable=False), step.id)
                return
            if following is None:
                return
            target = following
        message = f"more than {self.settings.max_inline_steps} steps passed without a task"
        self._fail_run(ErrorInfo(error="run.step_limit", message=message, retryable=False), target)

    def _pass(self, step: ChoiceStep | WaitStep | SucceedStep | FailStep) -> str | None:
        """Do an inline step; return where the run goes next, or None when it stops here."""
        if isinstance(step, ChoiceStep):
            return self._choose(step)
        if isinstance(step, WaitStep):
            until = self._wait_until(step)
            self.record(WaitStarted, step_id=step.id, until=until)
            if until > self.now:
                return None
            self.record(WaitEnded, step_id=step.id)
            return self.definition.following(step)
        if isinstance(step, SucceedStep):
            output = self.run.last_output
            if step.output is not None:
                output = render(step.output, self.run.context(), budget=self.costs)
            self.record(RunSucceeded, output=output)
            return None
        cause = render(step.cause, self.run.context(), budget=self.costs) if step.cause else ""
        error = ErrorInfo(error=step.error, message=str(cause), retryable=False)
        self._fail_run(error, step.id)
        return None

    def _choose(self, step: ChoiceStep) -> str | None:
        context = self.run.context()
        chosen = next(
            (
                choice.next
                for choice in step.choices
                if condition_holds(choice.when, context, self.costs)
            ),
            step.default,
        )
        if chosen is None:
            message = f"no choice of step {step.id!r} matched and it has no default"
            self._fail_run(
                ErrorInfo(error="choice.no_match", message=message, retryable=False), step.id
            )
            return None
        self.record(ChoiceMade, step_id=step.id, next=chosen)
        return chosen

    def _wait_until(self, step: WaitStep) -> datetime:
        if step.seconds is not None:
            return self.now + timedelta(seconds=step.seconds)
        value = render(step.until, self.run.context(), budget=self.costs)
        return parse_instant(value)

    def _schedule(self, step: AttemptedStep, try_number: int, delay: float) -> None:
        number = self.run.attempt_counts.get(step.id, 0) + 1
        due_at = self.now + timedelta(seconds=delay)
        if due_at > self.now:  # a delay that rounds to 0 microseconds is due now
            wake_at = due_at
        else:
            wake_at = self.now + timedelta(seconds=self.settings.redeliver_after)
        self.record(
            AttemptScheduled,
            step_id=step.id,
            attempt=number,
            try_number=try_number,
            due_at=due_at,
            wake_at=wake_at,
        )
        if due_at > self.now:
            return
        self.enter_due(step, number)

    def enter_due(self, step: AttemptedStep, number: int) -> None:
        """An attempt is due: send a task's job, open a fan, or start waiting for a signal."""
        if isinstance(step, TaskStep):  # recorded first: no job for an attempt the budget refused
            self._jobs.append(Job(self.run.id, step.id, number))
        elif isinstance(step, AwaitStep):
            enter_await(self, step, number)
        else:
            open_fan(self, step, number)

    def queue(self, step_id: str, number: int) -> None:
        """(Re)send a due attempt's job, and look again later in case it is lost."""
        wake_at = self.now + timedelta(seconds=self.settings.redeliver_after)
        self.record(AttemptQueued, step_id=step_id, attempt=number, wake_at=wake_at)
        self._jobs.append(Job(self.run.id, step_id, number))

    def attempt_failed(self, error: ErrorInfo, random_fraction: float) -> None:
        """Record the current attempt's failure, then retry it, catch it, or fail the run."""
        attempt = self.run.attempt
        assert attempt is not None
        step = self.definition.step(attempt.step_id)
        assert isinstance(step, ATTEMPTED_STEPS)
        self.record(AttemptFailed, step_id=step.id, attempt=attempt.number, error=error)
        if error.retryable and step.retry.allows_retry(error.error, attempt.try_number):
            delay = step.retry.delay_before(
                attempt.try_number + 1, random_fraction, retry_after=error.retry_after
            )
            self._schedule(step, try_number=attempt.try_number + 1, delay=delay)
            return
        catcher = step.catcher_for(error.error)
        if catcher is not None:
            self.record(StepCaught, step_id=step.id, error=error, next=catcher.next)
            self.go_to(catcher.next)
            return
        self._fail_run(error, step.id)

    def _fail_run(self, error: ErrorInfo, step_id: str) -> None:
        self.record(RunFailed, error=error, step_id=step_id)

    def timeout_at(self) -> datetime | None:
        """When the running attempt breaks its step's timeout, if the step has one."""
        attempt = self.run.attempt
        if attempt is None or attempt.started_at is None:
            return None
        step = self.definition.step(attempt.step_id)
        if not isinstance(step, TaskStep) or step.timeout is None:
            return None
        return attempt.started_at + timedelta(seconds=step.timeout)

    def running_limit(self) -> datetime | None:
        """The earliest of the running attempt's step timeout and its callback's deadline."""
        limits = [self.timeout_at()]
        attempt = self.run.attempt
        step = self.definition.step(attempt.step_id) if attempt is not None else None
        if isinstance(step, TaskStep):
            limits.append(callback_deadline(self.run, step))
        return min((limit for limit in limits if limit is not None), default=None)

    def current_wait(self) -> WaitStep:
        assert self.run.current_step is not None
        step = self.definition.step(self.run.current_step)
        assert isinstance(step, WaitStep)
        return step


def parse_instant(value: Any) -> datetime:
    """A wait's ``until``: an ISO 8601 timestamp (UTC when it names no zone) or epoch seconds."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"'until' must be a timestamp, got {value!r}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError):
            raise ValueError(f"'until' is out of range: {value!r}") from None
    if not isinstance(value, str):
        raise ValueError(f"'until' must be a timestamp, got {type(value).__name__}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'until' is not an ISO 8601 timestamp: {value!r}") from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
