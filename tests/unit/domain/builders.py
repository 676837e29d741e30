"""Small builders for definitions, and a runner that drives the state machine like the engine.

The runner keeps the whole history and checks after every decision that the events are
numbered without gaps and that replaying them rebuilds exactly the run the machine returned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wfa.domain import machine
from wfa.domain.commands import (
    BeginAttempt,
    CompleteAttempt,
    Create,
    FailAttempt,
    RunCommand,
    Start,
)
from wfa.domain.definition import Definition
from wfa.domain.errors import InvalidDefinition
from wfa.domain.events import ErrorInfo, event_type
from wfa.domain.progress import Decision, EngineSettings
from wfa.domain.run import replay
from wfa.domain.validation import parse_definition

NOW = datetime(2030, 1, 1, tzinfo=UTC)
BOOM = ErrorInfo(error="http.500", message="server error")


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def task(step_id: str = "a", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "task", "action": "log", **fields}


def choice(step_id: str, *branches: tuple[str, str], **fields: Any) -> dict[str, Any]:
    choices = [{"when": when, "next": target} for when, target in branches]
    return {"id": step_id, "type": "choice", "choices": choices, **fields}


def workflow(*steps: Any, **fields: Any) -> dict[str, Any]:
    """Raw definition data: the steps given (one task when none), plus top-level fields."""
    return {"name": "test", "steps": list(steps) or [task()], **fields}


def flow(*steps: dict[str, Any]) -> Definition:
    return parse_definition(workflow(*steps))


def problems(raw: Any, **options: Any) -> list[str]:
    """Every problem of a definition that must be refused, as users read them."""
    with pytest.raises(InvalidDefinition) as refused:
        parse_definition(raw, **options)
    return [str(problem) for problem in refused.value.problems]


def kinds(decision: Decision) -> list[str]:
    return [event_type(event) for event in decision.events]


class Runner:
    """Feeds commands to the machine like the engine does, keeping the whole history."""

    def __init__(self, definition: Definition, input: Any = None, **settings: Any) -> None:
        self.definition = definition
        self.settings = EngineSettings(**settings)
        command = Create(run_id="r1", workflow_id="wf", workflow_version=1, input=input)
        created = machine.create(command, NOW)
        self.run, self.history = created.run, list(created.events)
        self._replayed = 0

    def send(self, command: RunCommand, seconds: float = 0.0) -> Decision:
        decision = machine.decide(self.definition, self.run, command, at(seconds), self.settings)
        self.history.extend(decision.events)
        self.run = decision.run
        assert [event.seq for event in decision.events] == list(
            range(len(self.history) - len(decision.events) + 1, len(self.history) + 1)
        )
        # Replaying the whole history after every command is quadratic: a run of thousands
        # of events (the budget tests) is replayed every thousand events instead.
        if len(self.history) < 1000 or len(self.history) // 1000 != self._replayed:
            self._replayed = len(self.history) // 1000
            assert replay(self.history) == self.run
        return decision

    def finish(self, step_id: str, number: int, output: Any = None, seconds: float = 0) -> Decision:
        self.send(BeginAttempt(step_id=step_id, attempt=number), seconds)
        return self.send(CompleteAttempt(step_id=step_id, attempt=number, output=output), seconds)

    def fail(
        self, step_id: str, number: int, error: ErrorInfo = BOOM, seconds: float = 0
    ) -> Decision:
        self.send(BeginAttempt(step_id=step_id, attempt=number), seconds)
        return self.send(FailAttempt(step_id=step_id, attempt=number, error=error), seconds)


def started(definition: Definition, input: Any = None, **settings: Any) -> Runner:
    runner = Runner(definition, input, **settings)
    runner.send(Start())
    return runner
