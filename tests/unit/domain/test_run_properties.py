"""Property tests of the run state machine: random definitions, hostile deliveries.

A ``RuleBasedStateMachine`` drives one run of a generated definition the way the engine's
surroundings may: jobs delivered late, twice or never, workers that die, a clock that jumps,
cancels and resumes at any moment. After every step the whole history is checked against
oracles written here, independently of the machine: append-only and replayable, terminal
states absorb, retries bounded and delayed as the policy says, stale deliveries change nothing.

Await steps wait for signals sent at any moment (before the step, during it, after its
deadline, duplicated, unfit for its schema); tasks with callbacks wait for theirs; runs with a
deadline are checked never to move past it. Signals are never lost: the inbox is exactly what
was received and not yet taken, and each signal is taken once, oldest first.

Some runs get a small history budget (from the engine, the definition or both), and then
their definitions may loop back (a choice or a catch naming an earlier step or its own): the
history never outgrows the budget, and a run that fills it ends with ``run.history_limit``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import msgspec
import pytest
from hypothesis import Phase, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from wfa.domain import machine
from wfa.domain.commands import (
    BeginAttempt,
    Cancel,
    CompleteAttempt,
    Create,
    ExtendLease,
    FailAttempt,
    OfferEvent,
    ResolveCallback,
    Resume,
    RunCommand,
    SendSignal,
    Start,
    Wake,
)
from wfa.domain.definition import (
    AwaitStep,
    ChoiceStep,
    Definition,
    FailStep,
    SucceedStep,
    TaskStep,
    WaitStep,
)
from wfa.domain.errors import DomainError, IllegalTransition, InvalidPayload, Refusal
from wfa.domain.events import (
    AttemptFailed,
    AttemptLeaseExtended,
    AttemptQueued,
    AttemptScheduled,
    AttemptStarted,
    AttemptSucceeded,
    AwaitStarted,
    ChoiceMade,
    ErrorInfo,
    Event,
    RunCancelled,
    RunCreated,
    RunFailed,
    RunResumed,
    RunStarted,
    RunSucceeded,
    SignalConsumed,
    SignalReceived,
    StepCaught,
    WaitEnded,
    WaitStarted,
)
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET
from wfa.domain.progress import Decision, EngineSettings, Job
from wfa.domain.retry import RetryPolicy
from wfa.domain.run import AttemptStatus, Run, RunStatus, replay
from wfa.domain.validation import parse_definition

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FLAGS = 4
# Twenty-one doublings of the context: far past any expression budget, in 150 characters.
COSTLY = "length(to_string(@" + "|[@,@]" * 21 + ")) > `0`"
TIGHT_BUDGET = 30  # enough for one flag condition, not for an output over the whole context
ERROR_NAMES = ("http.timeout", "http.500", "retry.me", "fatal", "boom")
TERMINAL_EVENTS = (RunSucceeded, RunFailed, RunCancelled)
ATTEMPT_COMMANDS = (BeginAttempt, ExtendLease, CompleteAttempt, FailAttempt)
SIGNALS = ("go", "stop")
EVENT = "paid"
FITS = {"type": "integer"}  # the schema some await steps have: 1 and 2 fit, "x" and null not
WAIT_ERRORS = ("await.timeout", "callback.timeout")

# ---------------------------------------------------------------------------------------------
# Generated definitions: valid by construction. Links point to later steps, except that in a
# looping definition a choice or a catch may also point back (the other links keep an exit).
# ---------------------------------------------------------------------------------------------

# random.random() can return values so small that a jittered delay rounds to 0 microseconds.
fractions = st.one_of(
    st.sampled_from([0.0, 1e-12, 0.5, 1 - 2**-53]),
    st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)


@st.composite
def retry_policies(draw: st.DrawFn) -> dict[str, Any]:
    initial = draw(st.sampled_from([0, 0.25, 1, 2.5, 10]))
    return {
        "max_attempts": draw(st.integers(1, 4)),
        "initial_interval": initial,
        "backoff_rate": draw(st.sampled_from([1, 1.5, 2, 3])),
        "max_interval": initial + draw(st.sampled_from([0, 1, 5, 300])),
        "jitter": draw(st.sampled_from(["none", "full"])),
        "retry_on": draw(
            st.sampled_from(
                [["*"], ["http.*"], ["http.*", "retry.me"], ["worker.lost", "step.timeout", "boom"]]
            )
        ),
        "non_retryable": draw(st.sampled_from([[], ["fatal"], ["http.500", "fatal"]])),
    }


def conditions(flag: int, other: int) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            f"input.flags[{flag}]",
            f"!input.flags[{flag}]",
            f"input.flags[{flag}] && input.flags[{other}]",
            f"input.flags[{flag}] || input.flags[{other}]",
            f"input.flags[{flag}] == `true`",
            "input.missing",
            COSTLY,
        ]
    )


def _targets(raw: dict[str, Any]) -> list[str]:
    found = [raw["next"]] if raw.get("next") else []
    found += [catch["next"] for catch in raw.get("catch", [])]
    found += [choice["next"] for choice in raw.get("choices", [])]
    found += [raw["default"]] if raw.get("default") else []
    return found


def back_links(draw: st.DrawFn, position: int, loops: bool) -> list[str]:
    """Earlier steps and this one, which a looping definition's choices and catches may name."""
    if not loops or not draw(st.booleans(), label="loop back"):
        return []
    return [f"s{i}" for i in range(position + 1)]


@st.composite
def raw_definitions(draw: st.DrawFn, loops: bool = False) -> dict[str, Any]:
    """Steps s0..sn-1 whose links point forward (or back, with ``loops``), unreachable pruned."""
    count = draw(st.integers(1, 7))
    kinds = st.sampled_from(
        ["task", "task", "task", "choice", "choice", "wait", "await", "succeed", "fail"]
    )
    steps: list[dict[str, Any]] = []
    for position in range(count):
        later = [f"s{i}" for i in range(position + 1, count)]
        first = st.sampled_from(["task", "task", "choice", "wait", "await", "await"])
        kind = draw(first if position == 0 else kinds)
        if kind == "choice" and not later:
            kind = draw(st.sampled_from(["task", "succeed", "fail"]))
        step: dict[str, Any] = {"id": f"s{position}", "type": kind}
        if kind in ("task", "wait", "await") and later:
            # Mostly the next step in the list, so long straight runs are common.
            step["next"] = draw(st.sampled_from([later[0], *later]))
        if kind == "task":
            step["action"] = "noop"
            if draw(st.booleans()):
                step["retry"] = draw(retry_policies())
            if draw(st.booleans()):
                step["timeout"] = draw(st.sampled_from([0.5, 5, 30, 120]))
            if draw(st.booleans(), label="callback"):
                step["callback"] = {"timeout": draw(st.sampled_from([3, 100]))}
        if kind == "await" and draw(st.booleans(), label="an event await"):
            step["event"] = EVENT
            if draw(st.booleans()):
                step["match"] = draw(st.sampled_from(["event.n == `1`", "event == input.flags"]))
        elif kind == "await":
            step["signal"] = draw(st.sampled_from(SIGNALS[:1] * 3 + SIGNALS[1:]))
            step["timeout"] = draw(st.sampled_from([5, 60, 600]))
            if draw(st.booleans()):
                step["retry"] = {
                    "max_attempts": draw(st.integers(1, 3)),
                    "initial_interval": draw(st.sampled_from([0, 2])),
                    "retry_on": ["await.timeout"],
                }
            if draw(st.booleans()):
                step["schema"] = FITS
        if kind in ("task", "await"):
            back = back_links(draw, position, loops)
            if later or back:
                step["catch"] = [
                    {
                        "errors": draw(
                            st.sampled_from(
                                [
                                    ["*"],
                                    ["fatal"],
                                    ["http.*"],
                                    ["worker.lost", "step.timeout"],
                                    ["await.*", "callback.timeout"],
                                ]
                            )
                        ),
                        "next": draw(st.sampled_from(later + back)),
                    }
                    for _ in range(draw(st.integers(0, 2)))
                ]
        elif kind == "choice":
            flag, other = draw(st.integers(0, FLAGS - 1)), draw(st.integers(0, FLAGS - 1))
            back = back_links(draw, position, loops)
            step["choices"] = [
                {"when": draw(conditions(flag, other)), "next": draw(st.sampled_from(later + back))}
                for _ in range(draw(st.integers(1, 3)))
            ]
            if draw(st.booleans()):
                step["default"] = draw(st.sampled_from(later))
        elif kind == "wait":
            step["seconds"] = draw(st.sampled_from([0, 0, 0.5, 3, 45, 600]))
        elif kind == "succeed" and draw(st.booleans()):
            step["output"] = {"flags": "{{ input.flags }}", "last": "{{ steps }}"}
        elif kind == "fail":
            step["error"] = draw(st.sampled_from(["Failed", "Rejected"]))
            if draw(st.booleans()):
                step["cause"] = "flags were {{ input.flags }}"
        steps.append(step)
    # Keep only what the first step reaches; links of reached steps only name reached steps.
    by_id = {step["id"]: step for step in steps}
    reached, frontier = {"s0"}, ["s0"]
    while frontier:
        for target in _targets(by_id[frontier.pop()]):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    kept = [step for step in steps if step["id"] in reached]
    # A link to the step right after may be left implicit (fall through, or off the end).
    for step, following in itertools.pairwise(kept):
        if step.get("next") == following["id"] and draw(st.booleans()):
            del step["next"]
    return {"name": "generated", "steps": kept}


SMALL_BUDGETS = st.integers(5, 60)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Definition, dict[str, Any], EngineSettings]:
    engine_budget = draw(st.one_of(st.just(10_000), SMALL_BUDGETS), label="engine budget")
    own_budget = draw(st.one_of(st.none(), SMALL_BUDGETS), label="definition budget")
    small = engine_budget <= 60 or own_budget is not None
    raw = draw(raw_definitions(loops=small))
    if own_budget is not None:
        raw["limits"] = {"max_events": own_budget}
    if draw(st.booleans(), label="run deadline"):
        raw["timeout"] = draw(st.sampled_from([30, 300, 3000]))
    definition = parse_definition(raw)  # valid by construction: raising here is a test bug
    assert [step.id for step in definition.steps] == [step["id"] for step in raw["steps"]]
    run_input = {"flags": draw(st.lists(st.booleans(), min_size=FLAGS, max_size=FLAGS))}
    engine = EngineSettings(
        lease=draw(st.sampled_from([2.0, 10.0, 60.0])),
        redeliver_after=draw(st.sampled_from([1.0, 5.0, 30.0])),
        max_inline_steps=draw(st.sampled_from([1000, 1000, 1, 1, 2])),
        max_events=engine_budget,
        expression_budget=draw(st.sampled_from([DEFAULT_EXPRESSION_BUDGET] * 3 + [TIGHT_BUDGET])),
        max_pending_signals=draw(st.sampled_from([100, 2])),
    )
    return definition, run_input, engine


# ---------------------------------------------------------------------------------------------
# Oracles over the history, written independently of the machine.
# ---------------------------------------------------------------------------------------------


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def policy_base_delay(policy: RetryPolicy, attempt: int) -> float:
    """The contract: before attempt n+1, ``min(initial * rate ** (n-1), max_interval)``."""
    return min(policy.initial_interval * policy.backoff_rate ** (attempt - 2), policy.max_interval)


def check_history(definition: Definition, engine: EngineSettings, history: Sequence[Event]) -> None:
    """Every invariant a history must keep, whatever was done to the run."""
    assert history, "a run always has a history"
    assert isinstance(history[0], RunCreated)
    check_budget(definition, engine, history)
    tries: dict[tuple[str, int], int] = {}
    numbers: dict[str, int] = {}
    cancelled = False
    for position, event in enumerate(history):
        assert event.seq == position + 1, "seq counts 1..n without gaps"
        previous = history[position - 1] if position else None
        if previous is not None:
            assert event.at >= previous.at, "time never runs backwards in a history"
            assert not isinstance(event, RunCreated)
            if isinstance(previous, TERMINAL_EVENTS):
                # Terminal statuses absorb; resuming a failed run is the one way out.
                assert isinstance(previous, RunFailed), f"{event!r} after {previous!r}"
                assert isinstance(event, RunResumed), f"{event!r} after {previous!r}"
        assert not cancelled, f"{event!r} recorded after the run was cancelled"
        cancelled = isinstance(event, RunCancelled)

        if isinstance(event, AttemptScheduled):
            step = definition.step(event.step_id)
            assert isinstance(step, TaskStep | AwaitStep)
            numbers[step.id] = numbers.get(step.id, 0) + 1
            assert event.attempt == numbers[step.id], "attempt numbers count 1, 2, 3 per step"
            retry = isinstance(previous, AttemptFailed) and previous.step_id == step.id
            if retry:
                assert isinstance(previous, AttemptFailed)
                expected_try = tries[(previous.step_id, previous.attempt)] + 1
            else:
                expected_try = 1
            assert event.try_number == expected_try
            assert event.try_number <= step.retry.max_attempts, "tries within one visit"
            tries[(step.id, event.attempt)] = event.try_number
            delay = event.due_at - event.at
            if retry:
                assert isinstance(previous, AttemptFailed)
                assert previous.at == event.at, "a retry is decided when the failure is"
                check_retry_delay(step.retry, event.try_number, delay, previous.error.retry_after)
            else:
                assert delay == timedelta(0), "a step's first try is due at once"
            if event.due_at > event.at:
                assert event.wake_at == event.due_at, "a backoff wakes the run when it is due"
            else:
                redeliver = event.at + timedelta(seconds=engine.redeliver_after)
                assert event.wake_at == redeliver, "a due attempt is looked at again later"

        if isinstance(event, AttemptFailed):
            assert position + 1 < len(history), "a failure is always followed by its outcome"
            if spent(history[position + 1]):
                continue  # no room was left for the outcome: the budget ended the run
            check_failure_routing(
                definition.step(event.step_id),
                event,
                tries[(event.step_id, event.attempt)],
                history[position + 1],
            )


def budget_of(definition: Definition, engine: EngineSettings) -> int:
    """The rule: the lower of the engine's budget and the definition's own, when it has one."""
    own = definition.limits.max_events
    return engine.max_events if own is None else min(engine.max_events, own)


def spent(event: Event | None) -> bool:
    return isinstance(event, RunFailed) and event.error.error == "run.history_limit"


def check_budget(definition: Definition, engine: EngineSettings, history: Sequence[Event]) -> None:
    """A history never holds more than its budget; its last slot only ever holds an ending,
    and ``run.history_limit`` is only ever that last slot's event, never retryable."""
    budget = budget_of(definition, engine)
    assert len(history) <= budget, f"{len(history)} events over a budget of {budget}"
    for event in history:
        if event.seq >= budget:
            assert isinstance(event, TERMINAL_EVENTS), f"{event!r} took the last slot"
        if spent(event):
            assert isinstance(event, RunFailed)
            assert event.seq == budget, "run.history_limit only when the history is full"
            assert not event.error.retryable


def check_retry_delay(
    policy: RetryPolicy, try_number: int, delay: timedelta, retry_after: float | None = None
) -> None:
    """Jitter only ever shortens a backoff, down to zero; without jitter it is exact.

    A failure's ``retry_after`` (HTTP Retry-After) is a floor: the delay is never shorter.
    """
    base = policy_base_delay(policy, try_number)
    assert base == policy.base_delay_before(try_number)
    assert policy.delay_before(try_number, 0.999) <= base
    if retry_after is not None and retry_after > base:
        assert delay == timedelta(seconds=retry_after), "the far side's Retry-After is kept"
    elif retry_after is not None:
        assert timedelta(seconds=retry_after) <= delay <= timedelta(seconds=base)
    elif policy.jitter == "none":
        # Without jitter the delay is exactly the policy's, never less.
        assert delay == timedelta(seconds=base)
    else:
        assert timedelta(0) <= delay <= timedelta(seconds=base)


def check_failure_routing(
    step: Any, failed: AttemptFailed, try_number: int, outcome: Event
) -> None:
    """After a failure: retry while the policy allows, else catch, else fail the run."""
    assert isinstance(step, TaskStep | AwaitStep)
    policy, error = step.retry, failed.error
    retried = (
        error.retryable
        and try_number < policy.max_attempts
        and _matches(error.error, policy.retry_on)
        and not _matches(error.error, policy.non_retryable)
    )
    catcher = next((catch for catch in step.catch if _matches(error.error, catch.errors)), None)
    if retried:
        assert isinstance(outcome, AttemptScheduled)
        assert outcome.step_id == step.id
        assert outcome.try_number == try_number + 1
    elif catcher is not None:
        assert isinstance(outcome, StepCaught)
        assert (outcome.step_id, outcome.next, outcome.error) == (step.id, catcher.next, error)
    else:
        assert isinstance(outcome, RunFailed)
        assert (outcome.step_id, outcome.error) == (step.id, error)


def check_step_limit(
    definition: Definition, engine: EngineSettings, events: Sequence[Event]
) -> None:
    """A decision gives up with ``run.step_limit`` only before one more choice or wait step.

    ``max_inline_steps`` bounds the choice and wait steps passed in one decision: reaching a
    task or the end passes nothing, and a succeed or fail step ends the run anyway. So the
    step named is a choice or a wait (never a task, never END), with exactly that many passed.
    """
    for position, event in enumerate(events):
        if not (isinstance(event, RunFailed) and event.error.error == "run.step_limit"):
            continue
        earlier = events[:position]
        entered = {fact.step_id for fact in earlier if isinstance(fact, WaitStarted)}
        passed = sum(
            isinstance(fact, ChoiceMade)
            or (isinstance(fact, WaitEnded) and fact.step_id in entered)
            for fact in earlier
        )
        assert passed == engine.max_inline_steps, "the step limit fired early"
        assert event.step_id is not None
        assert definition.has_step(event.step_id), f"failed at {event.step_id!r}"
        assert isinstance(definition.step(event.step_id), ChoiceStep | WaitStep)


def check_expression_budget(
    definition: Definition, engine: EngineSettings, events: Sequence[Event]
) -> None:
    """Only an inline step with expressions fails with ``expression.too_costly``, never
    retryable; with the default budget only a step holding the costly condition does, and a
    choice whose first condition is the costly one always does when it is entered."""
    for position, event in enumerate(events):
        entered = isinstance(event, ChoiceMade) or (
            isinstance(event, RunFailed) and event.error.error == "expression.too_costly"
        )
        step = definition.step(event.step_id) if entered and event.step_id else None
        if isinstance(step, ChoiceStep) and step.choices[0].when == COSTLY:
            assert isinstance(event, RunFailed), "the costly condition was evaluated in budget"
        if not (isinstance(event, RunFailed) and event.error.error == "expression.too_costly"):
            continue
        assert not event.error.retryable
        assert isinstance(step, ChoiceStep | SucceedStep | FailStep), f"at {step!r}"
        assert "WFA_EXPRESSION_BUDGET" in event.error.message
        if engine.expression_budget == DEFAULT_EXPRESSION_BUDGET:
            assert isinstance(step, ChoiceStep)
            assert COSTLY in [choice.when for choice in step.choices]
        assert position == len(events) - 1, "the run ends where its budget ran out"


def check_signals(definition: Definition, history: Sequence[Event], run: Run) -> None:
    """No signal is lost or taken twice: each is taken at most once, by an await step's
    attempt waiting for its name, oldest first, before that attempt's deadline; what is left
    is exactly the run's inbox. Each waiting attempt ends once: taken, timed out, or left."""
    inbox: dict[int, tuple[str, Any]] = {}  # seq -> (name, payload), in arrival order
    waiting: AwaitStarted | None = None
    for position, event in enumerate(history):
        if isinstance(event, SignalReceived):
            inbox[event.seq] = (event.name, event.payload)
            if event.key is not None and event.key.startswith("event:"):
                # An event is taken as it is recorded, or not recorded at all.
                taken = history[position + 1] if position + 1 < len(history) else None
                assert isinstance(taken, SignalConsumed) or spent(taken), taken
        elif isinstance(event, AwaitStarted):
            step = definition.step(event.step_id)
            if isinstance(step, AwaitStep):
                assert (event.signal, event.event) == (step.signal, step.event)
                assert event.deadline == event.at + timedelta(seconds=step.timeout)
            else:
                assert isinstance(step, TaskStep)
                assert step.callback is not None
                assert event.signal is None
            waiting = event
        elif isinstance(event, SignalConsumed):
            assert waiting is not None, "a signal is only taken by a waiting step"
            assert (event.step_id, event.attempt) == (waiting.step_id, waiting.attempt)
            assert event.signal_seq in inbox, "a signal is taken once, and only if received"
            name = inbox[event.signal_seq][0]
            assert name == (waiting.signal or waiting.event)
            oldest = min(seq for seq, (other, _) in inbox.items() if other == name)
            assert event.signal_seq == oldest, "signals of one name are taken oldest first"
            assert event.at < waiting.deadline, "a signal never beats a deadline that passed"
            del inbox[event.signal_seq]
        elif isinstance(event, AttemptSucceeded | AttemptFailed) and waiting is not None:
            if (event.step_id, event.attempt) == (waiting.step_id, waiting.attempt):
                if isinstance(event, AttemptFailed) and event.error.error in WAIT_ERRORS:
                    assert event.at >= waiting.deadline, "no timeout before the deadline"
                waiting = None
        elif isinstance(event, TERMINAL_EVENTS):
            waiting = None
        if isinstance(event, AttemptFailed) and event.error.error in WAIT_ERRORS:
            assert event.error.retryable, "a wait's timeout is retried like any error"
    kept = [(signal.seq, signal.name, signal.payload) for signal in run.inbox]
    assert kept == [(seq, name, payload) for seq, (name, payload) in inbox.items()]


def check_deadline(definition: Definition, history: Sequence[Event]) -> None:
    """A run with a ``timeout`` does nothing at or after its deadline (its start, or its
    last resume, plus the timeout) but fail with ``run.timeout``, or be cancelled."""
    timeout = definition.timeout
    deadline = None
    for event in history:
        if isinstance(event, RunStarted | RunResumed):
            expected = None if timeout is None else event.at + timedelta(seconds=timeout)
            assert event.deadline == expected
            deadline = expected
            continue
        timed_out = isinstance(event, RunFailed) and event.error.error == "run.timeout"
        if timed_out:
            assert deadline is not None
            assert event.at >= deadline, "run.timeout only once the deadline passed"
            assert not event.error.retryable
        elif deadline is not None and event.at >= deadline:
            assert isinstance(event, RunCancelled), f"{event!r} after the run's deadline"
        if isinstance(event, TERMINAL_EVENTS):
            deadline = None


def attempt_state(history: Sequence[Event], step_id: str, number: int) -> set[str]:
    """What the history says happened to one attempt: scheduled, queued, started, ended."""
    facts: set[str] = set()
    for event in history:
        if isinstance(event, TERMINAL_EVENTS) and "scheduled" in facts:
            facts.add("ended")  # the run ended around it (a deadline, a cancel): abandoned
        if getattr(event, "step_id", None) != step_id or getattr(event, "attempt", None) != number:
            continue
        if isinstance(event, AttemptScheduled):
            facts.add("scheduled")
            if event.due_at <= event.at:
                facts.add("queued")
        elif isinstance(event, AttemptQueued):
            facts.add("queued")
        elif isinstance(event, AttemptStarted):
            facts.add("started")
        elif isinstance(event, AwaitStarted):
            facts.add("awaiting")  # its worker is done with it: only the callback moves it
        elif isinstance(event, AttemptSucceeded | AttemptFailed):
            facts.add("ended")
    return facts


def attempt_command_applies(run: Run, history: Sequence[Event], command: Any) -> bool:
    """Whether an attempt command is live (else it is stale or a duplicate and must be ignored).

    Decided from the history alone: an attempt not ended in an unfinished run is the current
    one, since a run has one attempt at a time and an ending abandons the one it leaves open.
    """
    if run.status.is_terminal:
        return False
    facts = attempt_state(history, command.step_id, command.attempt)
    if "scheduled" not in facts or "ended" in facts or "awaiting" in facts:
        return False
    if isinstance(command, BeginAttempt):
        return "queued" in facts and "started" not in facts
    if isinstance(command, FailAttempt):
        return "queued" in facts or "started" in facts
    return "started" in facts  # CompleteAttempt, ExtendLease


def expected_jobs(definition: Definition, events: Sequence[Event]) -> list[tuple[str, int]]:
    """A job goes out exactly for each task attempt made due (scheduled due now, or re-queued);
    an await step's attempt is nobody's job: it waits for its signal."""
    due = []
    for event in events:
        if isinstance(event, AttemptScheduled) and isinstance(
            definition.step(event.step_id), AwaitStep
        ):
            continue
        if isinstance(event, AttemptQueued) or (
            isinstance(event, AttemptScheduled) and event.due_at <= event.at
        ):
            due.append((event.step_id, event.attempt))
    return due


def check_run_shape(definition: Definition, run: Run) -> None:
    """Facts about a single run state that hold after every decision."""
    if run.status in (RunStatus.RUNNING, RunStatus.WAITING):
        assert run.wake_at is not None, "an unfinished run always has a durable timer"
    if run.status.is_terminal:
        assert run.attempt is None
        assert run.wake_at is None
        assert run.current_step is None
    if run.status is RunStatus.FAILED:
        assert run.error is not None
        assert run.failed_step is not None
        assert definition.has_step(run.failed_step)
    attempt = run.attempt
    if run.deadline is not None and not run.status.is_terminal:
        assert run.wake_at is not None
        assert run.wake_at <= run.deadline, "a run with a deadline is woken by it at the latest"
    if attempt is not None:
        assert run.current_step == attempt.step_id
        step = definition.step(attempt.step_id)
        assert isinstance(step, TaskStep | AwaitStep)
        assert run.attempt_counts[step.id] == attempt.number
        assert 1 <= attempt.try_number <= step.retry.max_attempts
        if attempt.status is AttemptStatus.AWAITING:
            assert run.status is RunStatus.WAITING
            assert isinstance(step, AwaitStep) or step.callback is not None
            assert attempt.signal == (step.signal if isinstance(step, AwaitStep) else None)
            assert attempt.event == (step.event if isinstance(step, AwaitStep) else None)
        if isinstance(step, TaskStep) and step.callback is not None and attempt.started_at:
            limit = attempt.started_at + timedelta(seconds=step.callback.timeout)
            assert attempt.wake_at is not None
            assert attempt.wake_at <= limit, "a callback's wait ends with its timeout"
        if attempt.status is AttemptStatus.RUNNING:
            assert isinstance(step, TaskStep)
            assert attempt.started_at is not None
            if step.timeout is not None:
                # A lease never outlives the step's timeout, however often it is extended.
                assert attempt.wake_at <= attempt.started_at + timedelta(seconds=step.timeout)
        if attempt.status is AttemptStatus.SCHEDULED:
            assert run.status is RunStatus.WAITING
            assert attempt.wake_at == attempt.due_at
    elif run.status is RunStatus.WAITING:
        assert run.current_step is not None
        assert isinstance(definition.step(run.current_step), WaitStep)
        assert run.wait_until is not None


def loops_back(definition: Definition) -> bool:
    """Whether some choice or catch names its own step or an earlier one."""
    position = {step.id: index for index, step in enumerate(definition.steps)}
    for index, step in enumerate(definition.steps):
        targets = [choice.next for choice in getattr(step, "choices", ())]
        targets += [catch.next for catch in getattr(step, "catch", ())]
        if any(position[target] <= index for target in targets):
            return True
    return False


def drive_fairly(
    definition: Definition, engine: EngineSettings, run: Run, now: datetime
) -> tuple[Run, list[Event]]:
    """Start, claim, complete and wake on time until the run ends; a bounded number of steps.

    Without loops each step is entered at most once more: a task takes at most three decisions
    (its backoff comes due, it is claimed, it completes), anything else one. A loop may go on
    until the history budget is spent, and each decision records at least one event.
    """
    history: list[Event] = []
    budget = 1 + 4 * len(definition.steps) + 2 * await_tries(definition)
    if loops_back(definition):
        budget += budget_of(definition, engine)
    for _ in range(budget):
        if run.status.is_terminal:
            break
        attempt = run.attempt
        command: RunCommand
        if run.status is RunStatus.PENDING:
            command = Start()
        elif attempt is not None and attempt.status is AttemptStatus.RUNNING:
            command = CompleteAttempt(step_id=attempt.step_id, attempt=attempt.number)
        elif attempt is not None and attempt.status is AttemptStatus.QUEUED:
            command = BeginAttempt(step_id=attempt.step_id, attempt=attempt.number)
        elif attempt is not None and attempt.status is AttemptStatus.AWAITING:
            command = _answer(definition, run, now)
        else:
            assert run.wake_at is not None, f"stuck: {run.status} with nothing to wait for"
            now = max(now, run.wake_at)
            command = Wake(random_fraction=0.5)
        try:
            decision = machine.decide(definition, run, command, now, engine)
        except Refusal:  # the answer came too late, or the inbox is full
            decision = Decision(run=run)
        if decision.ignored and isinstance(command, SendSignal | ResolveCallback | OfferEvent):
            # Not taken (too late, a full inbox, an event that does not match): time runs out.
            assert run.wake_at is not None
            now = max(now, run.wake_at)
            decision = machine.decide(definition, run, Wake(random_fraction=0.5), now, engine)
        assert not decision.ignored, f"a fair step is never ignored: {command!r}"
        run = decision.run
        history.extend(decision.events)
    assert run.status.is_terminal, f"still {run.status} after {budget} fair steps"
    return run, history


def await_tries(definition: Definition) -> int:
    return sum(s.retry.max_attempts for s in definition.steps if isinstance(s, AwaitStep))


def _answer(definition: Definition, run: Run, now: datetime) -> RunCommand:
    """What a willing world does for an awaiting attempt: send its signal, use its callback."""
    attempt = run.attempt
    assert attempt is not None
    step = definition.step(attempt.step_id)
    if isinstance(step, AwaitStep) and step.event is not None:
        return OfferEvent(name=step.event, payload={"n": 1}, event_id="fair")
    if isinstance(step, AwaitStep):
        assert step.signal is not None
        return SendSignal(name=step.signal, payload=1)
    return ResolveCallback(step_id=step.id, attempt=attempt.number, output="answered")


# ---------------------------------------------------------------------------------------------
# The state machine.
# ---------------------------------------------------------------------------------------------

outputs = st.sampled_from([None, 0, "done", {"ok": True}, [1, 2]])
error_infos = st.builds(
    ErrorInfo,
    error=st.sampled_from(ERROR_NAMES),
    message=st.just("it broke"),
    retryable=st.booleans(),
    retry_after=st.none() | st.sampled_from([0.5, 7.0, 400.0]),
)


class RunStateMachine(RuleBasedStateMachine):
    """One run under at-least-once delivery, a jumpy clock, cancels and resumes."""

    def __init__(self) -> None:
        super().__init__()
        self.definition: Definition | None = None
        self.engine = EngineSettings()
        self.run: Run | None = None
        self.history: list[Event] = []
        self.now = T0
        self.pending: list[Job] = []  # emitted, not yet claimed by a worker
        self.claimed: list[Job] = []  # claimed (BeginAttempt sent), no outcome reported yet
        self.sent: list[Job] = []  # every job ever emitted, for duplicate deliveries
        self.steps = 0
        self.cancel_after = 0
        self.refusals_checked_at = 0

    # -- plumbing ---------------------------------------------------------------------------

    def send(self, command: RunCommand) -> Decision:
        """Decide one command, check the decision against the history, and keep it."""
        assert self.definition is not None
        assert self.run is not None
        before = self.run
        snapshot = msgspec.msgpack.encode(before)  # to see a change made in place
        history_before = list(self.history)
        try:
            decision = machine.decide(self.definition, before, command, self.now, self.engine)
        except DomainError:
            # A refusal changes nothing: not the run (not even in place), not the history.
            assert msgspec.msgpack.encode(before) == snapshot
            assert self.history == history_before
            raise
        assert msgspec.msgpack.encode(before) == snapshot, "decide changed the run it was given"
        events = decision.events
        assert [event.seq for event in events] == list(
            range(before.seq + 1, before.seq + 1 + len(events))
        )
        assert all(event.at == self.now for event in events)
        if decision.ignored:
            assert decision.run == before, "nothing happened, nothing moved"
            assert not decision.jobs
        else:
            assert decision.run.seq == events[-1].seq
            assert decision.run.updated_at == self.now
        # The previous history stays a prefix: a decision only appends.
        history = [*history_before, *events]
        assert history[: len(history_before)] == history_before
        assert replay(history) == decision.run
        jobs = [(job.step_id, job.attempt) for job in decision.jobs]
        assert jobs == expected_jobs(self.definition, events)
        assert all(job.run_id == before.id for job in decision.jobs)
        check_step_limit(self.definition, self.engine, events)
        check_expression_budget(self.definition, self.engine, events)
        if before.status.is_terminal and decision.run.status != before.status:
            assert before.status is RunStatus.FAILED
            assert isinstance(command, Resume)
        if decision.run.status is RunStatus.CANCELLED:
            assert not decision.jobs, "a cancelled run starts nothing"
        if events and spent(events[-1]):
            assert not decision.jobs, "a run that spent its budget starts nothing"
        fraction = getattr(command, "random_fraction", None)
        for position, event in enumerate(events):
            if isinstance(event, AttemptFailed):
                # A failure found while deciding something else (an early signal that does
                # not fit its step) is never retried, so it needs no jitter.
                if fraction is None:
                    assert not event.error.retryable
                    continue
                self.check_exact_delay(event, events[position + 1 :], fraction)
        self.run, self.history = decision.run, history
        self.pending.extend(decision.jobs)
        self.sent.extend(decision.jobs)
        return decision

    def check_exact_delay(self, failed: AttemptFailed, rest: Sequence[Event], f: float) -> None:
        assert self.definition is not None
        following = rest[0] if rest else None
        if not isinstance(following, AttemptScheduled):
            return
        step = self.definition.step(failed.step_id)
        assert isinstance(step, TaskStep | AwaitStep)
        base = policy_base_delay(step.retry, following.try_number)
        expected = base if step.retry.jitter == "none" else base * f
        retry_after = failed.error.retry_after
        if retry_after is not None:
            expected = max(expected, retry_after)
        assert following.due_at - following.at == timedelta(seconds=expected)

    def fills_budget(self, decision: Decision) -> bool:
        """Whether the history had one slot left, so the command's first event is the end."""
        assert self.definition is not None
        if len(self.history) - len(decision.events) + 1 < budget_of(self.definition, self.engine):
            return False
        assert len(decision.events) == 1
        assert spent(decision.events[0]) or isinstance(decision.events[0], TERMINAL_EVENTS)
        note_event("history: the budget filled up")
        return True

    def refused(self, command: RunCommand, kind: type[DomainError] = IllegalTransition) -> None:
        with pytest.raises(kind):
            self.send(command)

    def past_deadline(self) -> bool:
        """Whether the run's deadline has passed while it is unfinished (the oracle's view)."""
        assert self.run is not None
        assert self.definition is not None
        if self.run.status.is_terminal or self.definition.timeout is None:
            return False
        begun = [e.at for e in self.history if isinstance(e, RunStarted | RunResumed)]
        return bool(begun) and self.now >= begun[-1] + timedelta(seconds=self.definition.timeout)

    def timed_out(self, decision: Decision) -> None:
        """A command that moves a run past its deadline fails the run, and nothing else."""
        assert len(decision.events) == 1
        (event,) = decision.events
        assert isinstance(event, RunFailed)
        assert event.error.error == "run.timeout"
        assert not decision.jobs
        note_event("history: the run's deadline passed")

    def attempt_command(self, command: Any) -> Decision:
        """Send an attempt command; the history alone says whether it must be ignored."""
        assert self.run is not None
        if self.past_deadline():
            self.timed_out(decision := self.send(command))
            return decision
        live = attempt_command_applies(self.run, self.history, command)
        note_event(f"{type(command).__name__}: {'live' if live else 'stale'}")
        decision = self.send(command)
        assert decision.ignored != live, f"{command!r}: live={live}"
        if live and self.fills_budget(decision):
            return decision
        if live:
            first = decision.events[0]
            kind = {
                BeginAttempt: AttemptStarted,
                ExtendLease: AttemptLeaseExtended,
                CompleteAttempt: AttemptSucceeded,
                FailAttempt: AttemptFailed,
            }[type(command)]
            step = self.definition.step(command.step_id) if self.definition else None
            if isinstance(command, CompleteAttempt) and getattr(step, "callback", None):
                # The action is done; the step waits for its callback (unless its time is up).
                kind = AwaitStarted if isinstance(first, AwaitStarted) else AttemptFailed
                if kind is AttemptFailed:
                    assert isinstance(first, AttemptFailed)
                    assert first.error.error == "callback.timeout"
            assert isinstance(first, kind)
            assert (first.step_id, first.attempt) == (command.step_id, command.attempt)
            if isinstance(command, BeginAttempt | ExtendLease):
                assert len(decision.events) == 1
                assert not decision.jobs
        return decision

    # -- setup --------------------------------------------------------------------------------

    @initialize(
        case=cases(),
        start=st.sampled_from([True, True, True, False]),
        cancel_after=st.integers(0, 60),
    )
    def create(
        self,
        case: tuple[Definition, dict[str, Any], EngineSettings],
        start: bool,
        cancel_after: int,
    ) -> None:
        self.definition, run_input, self.engine = case
        # Cancel only after some steps: uniformly chosen, it would end most runs early.
        self.cancel_after = cancel_after
        command = Create(run_id="r1", workflow_id="wf", workflow_version=1, input=run_input)
        decision = machine.create(command, self.now)
        assert decision.run.status is RunStatus.PENDING
        assert not decision.jobs
        self.run, self.history = decision.run, list(decision.events)
        if start:
            self.try_start()

    def try_start(self) -> None:
        assert self.run is not None
        if self.run.status is not RunStatus.PENDING:
            self.refused(Start())
            return
        decision = self.send(Start())
        assert isinstance(decision.events[0], RunStarted)
        assert decision.run.status is not RunStatus.PENDING

    def try_resume(self) -> None:
        assert self.run is not None
        assert self.definition is not None
        failed_step = self.run.failed_step
        error = self.run.error
        legal = (
            self.run.status is RunStatus.FAILED
            and failed_step is not None
            and self.definition.has_step(failed_step)
            and not isinstance(self.definition.step(failed_step), FailStep)
            # Room for run.resumed, the step it enters and an ending; never after the budget.
            and len(self.history) + 3 <= budget_of(self.definition, self.engine)
            and not (error is not None and error.error == "run.history_limit")
        )
        note_event(f"Resume: {'legal' if legal else 'refused'}")
        if not legal:
            self.refused(Resume())
            return
        decision = self.send(Resume())
        timeout = self.definition.timeout
        deadline = None if timeout is None else self.now + timedelta(seconds=timeout)
        assert decision.events[0] == RunResumed(
            seq=decision.events[0].seq, at=self.now, step_id=failed_step, deadline=deadline
        )
        assert decision.run.error is None or decision.run.status is RunStatus.FAILED

    # -- rules --------------------------------------------------------------------------------

    @precondition(lambda self: self.run is not None and self.run.status is RunStatus.PENDING)
    @rule()
    def start(self) -> None:
        self.try_start()

    @precondition(lambda self: self.run is not None and self.run.status is RunStatus.FAILED)
    @rule()
    def resume(self) -> None:
        """Resuming a failed run is the one way out of a terminal status."""
        self.try_resume()

    @rule(command=st.sampled_from(["start", "resume"]))
    def out_of_turn(self, command: str) -> None:
        """Start or Resume whatever the status: refused, changing nothing, unless legal."""
        if command == "start":
            self.try_start()
        else:
            self.try_resume()

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def begin(self, data: st.DataObject) -> None:
        job = self.pending.pop(data.draw(st.integers(0, len(self.pending) - 1), label="job"))
        self.attempt_command(BeginAttempt(step_id=job.step_id, attempt=job.attempt))
        self.claimed.append(job)

    @precondition(lambda self: self.claimed)
    @rule(data=st.data(), output=outputs)
    def complete(self, data: st.DataObject, output: Any) -> None:
        job = self.claimed.pop(data.draw(st.integers(0, len(self.claimed) - 1), label="job"))
        self.attempt_command(
            CompleteAttempt(step_id=job.step_id, attempt=job.attempt, output=output)
        )

    @precondition(lambda self: self.claimed or self.pending)
    @rule(data=st.data(), error=error_infos, fraction=fractions)
    def fail(self, data: st.DataObject, error: ErrorInfo, fraction: float) -> None:
        # A worker may report a failure before it claimed the job (its params did not render).
        source = self.claimed if self.claimed else self.pending
        if self.claimed and self.pending and data.draw(st.booleans(), label="unclaimed"):
            source = self.pending
        job = source.pop(data.draw(st.integers(0, len(source) - 1), label="job"))
        self.attempt_command(
            FailAttempt(
                step_id=job.step_id, attempt=job.attempt, error=error, random_fraction=fraction
            )
        )

    @precondition(lambda self: self.claimed)
    @rule(data=st.data())
    def extend_lease(self, data: st.DataObject) -> None:
        job = self.claimed[data.draw(st.integers(0, len(self.claimed) - 1), label="job")]
        self.attempt_command(ExtendLease(step_id=job.step_id, attempt=job.attempt))

    @precondition(lambda self: self.pending or self.claimed)
    @rule(data=st.data(), claimed=st.booleans())
    def lose(self, data: st.DataObject, claimed: bool) -> None:
        """A job vanishes from the queue, or its worker dies: only timers can notice."""
        source = self.claimed if (claimed and self.claimed) or not self.pending else self.pending
        source.pop(data.draw(st.integers(0, len(source) - 1), label="job"))

    @precondition(lambda self: self.sent)
    @rule(
        data=st.data(),
        kind=st.sampled_from(ATTEMPT_COMMANDS),
        error=error_infos,
        fraction=fractions,
        shift=st.sampled_from([0, 0, 0, -1, 1]),
    )
    def duplicate(
        self, data: st.DataObject, kind: type, error: ErrorInfo, fraction: float, shift: int
    ) -> None:
        """An earlier job comes again (or a stray attempt number): at-least-once delivery."""
        job = self.sent[data.draw(st.integers(0, len(self.sent) - 1), label="job")]
        number = max(1, job.attempt + shift)
        fields: dict[str, Any] = {"step_id": job.step_id, "attempt": number}
        if kind is FailAttempt:
            fields.update(error=error, random_fraction=fraction)
        self.attempt_command(kind(**fields))

    @rule(
        how=st.sampled_from(["to_wake", "to_wake", "before_wake", "by"]),
        seconds=st.floats(min_value=0, max_value=700, allow_nan=False),
        fraction=fractions,
    )
    def tick(self, how: str, seconds: float, fraction: float) -> None:
        """The clock moves (never back) and the scheduler sends Wake."""
        assert self.run is not None
        assert self.definition is not None
        wake_at = self.run.wake_at
        if how == "to_wake" and wake_at is not None:
            self.now = max(self.now, wake_at)
        elif how == "before_wake" and wake_at is not None:
            self.now = max(self.now, wake_at - timedelta(microseconds=1))
        else:
            self.now += timedelta(seconds=seconds)
        due = wake_at is not None and wake_at <= self.now
        note_event(f"Wake: {'due' if due else 'early'}")
        before = self.run
        past_deadline = self.past_deadline()
        decision = self.send(Wake(random_fraction=fraction))
        assert decision.ignored != due, "Wake acts exactly when the run's timer is due"
        if past_deadline:
            self.timed_out(decision)
            return
        if not due or self.fills_budget(decision):
            return
        first = decision.events[0]
        attempt = before.attempt
        step = self.definition.step(attempt.step_id) if attempt is not None else None
        if attempt is None:
            assert isinstance(first, WaitEnded)
            assert first.step_id == before.current_step
        elif isinstance(step, AwaitStep) and attempt.status is AttemptStatus.SCHEDULED:
            assert isinstance(first, AwaitStarted), "an await's backoff is over: it waits again"
            assert first.attempt == attempt.number
        elif attempt.status in (AttemptStatus.SCHEDULED, AttemptStatus.QUEUED):
            assert isinstance(first, AttemptQueued)
            assert len(decision.events) == 1
            assert decision.jobs == (Job(before.id, attempt.step_id, attempt.number),)
        else:
            assert isinstance(first, AttemptFailed)
            assert first.attempt == attempt.number
            assert isinstance(step, TaskStep | AwaitStep)
            assert first.error.error == self.expected_wake_error(step, attempt)

    def expected_wake_error(self, step: TaskStep | AwaitStep, attempt: Any) -> str:
        """Why a running or awaiting attempt whose time is up failed, from the definition."""
        if isinstance(step, AwaitStep):
            return "await.timeout"
        started = attempt.started_at
        assert started is not None
        callback = step.callback
        if callback is not None and started + timedelta(seconds=callback.timeout) <= self.now:
            return "callback.timeout"
        if step.timeout is not None and started + timedelta(seconds=step.timeout) <= self.now:
            return "step.timeout"
        return "worker.lost"

    @precondition(lambda self: self.steps >= self.cancel_after)
    @rule(reason=st.sampled_from(["", "no longer needed"]))
    def cancel(self, reason: str) -> None:
        assert self.run is not None
        if self.run.status.is_terminal:
            self.refused(Cancel(reason=reason))
            return
        decision = self.send(Cancel(reason=reason))
        assert decision.events == (RunCancelled(seq=decision.run.seq, at=self.now, reason=reason),)
        assert decision.run.status is RunStatus.CANCELLED
        assert not decision.jobs

    @rule(
        name=st.sampled_from(SIGNALS[:1] * 3 + SIGNALS[1:]),
        payload=st.sampled_from([1, 2, "x", None]),
        key=st.none() | st.sampled_from(["k1", "k2"]),
    )
    def signal(self, name: str, payload: Any, key: str | None) -> None:
        """A signal comes, whatever the run is doing: kept, taken, or refused with a reason."""
        assert self.run is not None
        assert self.definition is not None
        run = self.run
        command = SendSignal(name=name, payload=payload, key=key)
        attempt = run.attempt
        step = self.definition.step(attempt.step_id) if attempt is not None else None
        takes = (
            isinstance(step, AwaitStep)
            and attempt is not None
            and attempt.status is AttemptStatus.AWAITING
            and step.signal == name
            and attempt.wake_at is not None
            and self.now < attempt.wake_at
        )
        budget = budget_of(self.definition, self.engine)
        if (
            run.status.is_terminal
            or self.past_deadline()
            or len(run.inbox) >= self.engine.max_pending_signals
            or len(self.history) + 1 >= budget
        ):
            note_event("signal: refused")
            self.refused(command, Refusal)
            return
        if takes and isinstance(step, AwaitStep) and step.schema and not isinstance(payload, int):
            note_event("signal: unfit for the waiting step")
            self.refused(command, InvalidPayload)
            return
        decision = self.send(command)
        first = decision.events[0]
        assert first == SignalReceived(
            seq=first.seq, at=self.now, name=name, payload=payload, key=key
        )
        rest = decision.events[1:]
        if takes and not spent(rest[0]):
            note_event("signal: taken at once")
            consumed = rest[0]
            assert isinstance(consumed, SignalConsumed)
            assert consumed.signal_seq == first.seq
            if len(rest) > 1 and not spent(rest[1]):
                assert isinstance(rest[1], AttemptSucceeded)
                assert rest[1].output == payload
        elif not takes:
            note_event("signal: kept in the inbox")
            assert decision.events == (first,)

    @rule(
        payload=st.sampled_from([{"n": 1}, {"n": 2}, [True, False, True, True], "x"]),
        event_id=st.sampled_from(["e1", "e2", "e3"]),
    )
    def publish(self, payload: Any, event_id: str) -> None:
        """An event is published: the run takes it if it awaits one and it matches, once."""
        assert self.run is not None
        assert self.definition is not None
        run, attempt = self.run, self.run.attempt
        step = self.definition.step(attempt.step_id) if attempt is not None else None
        waits = (
            isinstance(step, AwaitStep)
            and step.event == EVENT
            and attempt is not None
            and attempt.status is AttemptStatus.AWAITING
            and attempt.wake_at is not None
            and self.now < attempt.wake_at
            and not self.past_deadline()
            and len(self.history) + 1 < budget_of(self.definition, self.engine)
        )
        fits = isinstance(step, AwaitStep) and (
            (step.schema is None or isinstance(payload, int))
            and (
                step.match is None
                or (step.match == "event.n == `1`" and payload == {"n": 1})
                or (step.match == "event == input.flags" and payload == run.input["flags"])
            )
        )
        decision = self.send(OfferEvent(name=EVENT, payload=payload, event_id=event_id))
        note_event(f"event: {'taken' if waits and fits else 'not taken'}")
        if not (waits and fits):
            assert decision.ignored, "an event not for this run changes nothing"
            return
        received, *rest = decision.events
        assert isinstance(received, SignalReceived)
        assert received.key == f"event:{event_id}"
        assert rest
        assert isinstance(rest[0], SignalConsumed) or spent(rest[0])

    @precondition(lambda self: self.callback_attempts())
    @rule(data=st.data(), fail=st.booleans(), error=error_infos, output=outputs)
    def use_callback(self, data: st.DataObject, fail: bool, error: ErrorInfo, output: Any) -> None:
        """Someone uses a task's callback: once, in time, for the current attempt; else 409."""
        assert self.run is not None
        assert self.definition is not None
        choices = self.callback_attempts()
        step_id, number = choices[data.draw(st.integers(0, len(choices) - 1), label="callback")]
        command = ResolveCallback(
            step_id=step_id, attempt=number, output=output, error=error if fail else None
        )
        run, attempt = self.run, self.run.attempt
        step = self.definition.step(step_id)
        assert isinstance(step, TaskStep)
        assert step.callback is not None
        live = (
            not run.status.is_terminal
            and not self.past_deadline()
            and attempt is not None
            and (attempt.step_id, attempt.number) == (step_id, number)
            and attempt.status in (AttemptStatus.RUNNING, AttemptStatus.AWAITING)
            and attempt.started_at is not None
            and self.now < attempt.started_at + timedelta(seconds=step.callback.timeout)
        )
        note_event(f"callback: {'live' if live else 'refused'}")
        if not live:
            self.refused(command, Refusal)
            return
        decision = self.send(command)
        first = decision.events[0]
        if self.fills_budget(decision):
            return
        assert isinstance(first, AttemptFailed if fail else AttemptSucceeded)
        assert (first.step_id, first.attempt) == (step_id, number)

    def callback_attempts(self) -> list[tuple[str, int]]:
        """Every attempt of a task with a callback that a worker started (its URL is out)."""
        if self.definition is None:
            return []
        return [
            (event.step_id, event.attempt)
            for event in self.history
            if isinstance(event, AttemptStarted)
            and getattr(self.definition.step(event.step_id), "callback", None) is not None
        ]

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def history_tells_the_whole_story(self) -> None:
        if self.run is None or self.definition is None:
            return
        check_history(self.definition, self.engine, self.history)
        check_signals(self.definition, self.history, self.run)
        check_deadline(self.definition, self.history)
        assert replay(self.history) == self.run
        assert self.run.seq == len(self.history)
        check_run_shape(self.definition, self.run)
        self.steps += 1
        note_event(f"status: {self.run.status}")
        for fact in self.history:
            if isinstance(fact, AttemptScheduled) and fact.try_number > 1:
                note_event("history: a retry")
            if isinstance(fact, StepCaught):
                note_event("history: an error caught")
            if isinstance(fact, AttemptFailed):
                note_event(f"history: failed with {fact.error.error}")
            if isinstance(fact, RunResumed):
                note_event("history: resumed")
            if spent(fact):
                note_event("history: ended with run.history_limit")
            if isinstance(fact, SignalConsumed):
                note_event("history: a signal taken")

    @invariant()
    def terminal_runs_refuse_start_and_cancel(self) -> None:
        if self.run is None or not self.run.status.is_terminal:
            return
        if self.refusals_checked_at == self.run.seq:
            return  # nothing happened since the last check
        self.refusals_checked_at = self.run.seq
        for command in (Start(), Cancel(reason="again")):
            self.refused(command)
        if self.run.status is not RunStatus.FAILED:
            self.refused(Resume())

    @invariant()
    def a_fair_clock_ends_the_run(self) -> None:
        """From any state, willing workers and a scheduler waking at ``wake_at`` end the run."""
        if self.run is None or self.definition is None:
            return
        run, history = drive_fairly(self.definition, self.engine, self.run, self.now)
        check_history(self.definition, self.engine, [*self.history, *history])
        if run.status is RunStatus.CANCELLED:
            assert self.run.status is RunStatus.CANCELLED, "only Cancel cancels"


# No explain phase: on a failure it replays every step many times over, for minutes.
RunStateMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
TestRunStateMachine = RunStateMachine.TestCase


# ---------------------------------------------------------------------------------------------
# Plain properties.
# ---------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(case=cases(), data=st.data())
def test_a_fair_clock_ends_every_run(
    case: tuple[Definition, dict[str, Any], EngineSettings], data: st.DataObject
) -> None:
    """Deliver every job (some lost once), report any outcome, wake at ``wake_at``: it ends."""
    definition, run_input, engine = case
    now = T0
    create = Create(run_id="r1", workflow_id="wf", workflow_version=1, input=run_input)
    created = machine.create(create, now)
    run, history = created.run, list(created.events)
    jobs: list[Job] = []
    drops_left = data.draw(st.integers(0, 3), label="drops")
    # Each step is entered at most once; each try of a task takes at most three moves (its
    # backoff comes due, it is claimed, it ends), a wait one; a lost job costs two more.
    tries = sum(
        s.retry.max_attempts * (4 if s.callback else 3)
        for s in definition.steps
        if isinstance(s, TaskStep)
    )
    waits = sum(isinstance(s, WaitStep) for s in definition.steps)
    budget = 1 + tries + 2 * await_tries(definition) + waits + 2 * drops_left
    if loops_back(definition):
        budget += budget_of(definition, engine)  # every move records an event or more
    moves = 0
    while not run.status.is_terminal:
        moves += 1
        assert moves <= budget, f"still {run.status} after {budget} fair moves"
        if run.status is RunStatus.PENDING:
            command: RunCommand = Start()
        elif jobs:
            job = jobs.pop(0)
            if drops_left and data.draw(st.booleans(), label="drop"):
                drops_left -= 1
                continue
            command = BeginAttempt(step_id=job.step_id, attempt=job.attempt)
        elif run.attempt is not None and run.attempt.status is AttemptStatus.RUNNING:
            outcome = data.draw(st.sampled_from(["complete", "fail", "lost"]), label="outcome")
            attempt = run.attempt
            if outcome == "complete":
                command = CompleteAttempt(step_id=attempt.step_id, attempt=attempt.number)
            elif outcome == "fail":
                command = FailAttempt(
                    step_id=attempt.step_id,
                    attempt=attempt.number,
                    error=data.draw(error_infos, label="error"),
                    random_fraction=data.draw(fractions, label="fraction"),
                )
            else:
                assert run.wake_at is not None
                now = max(now, run.wake_at)
                command = Wake(random_fraction=data.draw(fractions, label="fraction"))
        else:
            assert run.wake_at is not None, f"stuck: {run.status} with no job and no timer"
            now = max(now, run.wake_at)
            command = Wake(random_fraction=data.draw(fractions, label="fraction"))
        decision = machine.decide(definition, run, command, now, engine)
        assert not decision.ignored, f"a fair step is never ignored: {command!r}"
        check_step_limit(definition, engine, decision.events)
        check_expression_budget(definition, engine, decision.events)
        run, history = decision.run, [*history, *decision.events]
        jobs.extend(decision.jobs)
    assert replay(history) == run
    check_history(definition, engine, history)
    check_run_shape(definition, run)


@settings(max_examples=300, deadline=None)
@given(
    policy=retry_policies(),
    attempt=st.integers(2, 12),
    fraction=fractions,
)
def test_retry_delays_follow_the_policy(
    policy: dict[str, Any], attempt: int, fraction: float
) -> None:
    retry = parse_definition(
        {"name": "p", "steps": [{"id": "t", "type": "task", "action": "a", "retry": policy}]}
    ).steps[0]
    assert isinstance(retry, TaskStep)
    policy_ = retry.retry
    base = policy_base_delay(policy_, attempt)
    assert policy_.base_delay_before(attempt) == base
    assert policy_.initial_interval <= base <= policy_.max_interval
    assert base <= policy_.base_delay_before(attempt + 1), "backoff never shrinks"
    delay = policy_.delay_before(attempt, fraction)
    if policy_.jitter == "none":
        assert delay == base
    else:
        assert 0 <= delay <= base
        assert delay == base * fraction
    with pytest.raises(ValueError, match="attempt 1"):
        policy_.base_delay_before(1)
