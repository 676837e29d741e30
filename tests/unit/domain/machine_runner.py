"""Drive the run state machine like the engine does: a fixed clock, the whole history kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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
from wfa.domain.events import ErrorInfo, event_type
from wfa.domain.progress import Decision, EngineSettings
from wfa.domain.run import replay
from wfa.domain.validation import parse_definition

NOW = datetime(2030, 1, 1, tzinfo=UTC)
BOOM = ErrorInfo(error="http.500", message="server error")


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def task(step_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "task", "action": "log", **fields}


def choice(step_id: str, *branches: tuple[str, str], **fields: Any) -> dict[str, Any]:
    choices = [{"when": when, "next": target} for when, target in branches]
    return {"id": step_id, "type": "choice", "choices": choices, **fields}


def flow(*steps: dict[str, Any]) -> Definition:
    return parse_definition({"name": "test", "steps": list(steps)})


class Runner:
    """Feeds commands to the machine like the engine does, keeping the whole history."""

    def __init__(self, definition: Definition, input: Any = None, **settings: Any) -> None:
        self.definition = definition
        self.settings = EngineSettings(**settings)
        command = Create(run_id="r1", workflow_id="wf", workflow_version=1, input=input)
        created = machine.create(command, NOW)
        self.run, self.history = created.run, list(created.events)

    def send(self, command: RunCommand, seconds: float = 0.0) -> Decision:
        decision = machine.decide(self.definition, self.run, command, at(seconds), self.settings)
        self.history.extend(decision.events)
        self.run = decision.run
        assert [event.seq for event in self.history] == list(range(1, len(self.history) + 1))
        assert replay(self.history) == self.run
        return decision

    def finish(self, step_id: str, number: int, output: Any = None, seconds: float = 0.0) -> None:
        self.send(BeginAttempt(step_id=step_id, attempt=number), seconds)
        self.send(CompleteAttempt(step_id=step_id, attempt=number, output=output), seconds)

    def fail(
        self, step_id: str, number: int, error: ErrorInfo = BOOM, seconds: float = 0
    ) -> Decision:
        self.send(BeginAttempt(step_id=step_id, attempt=number), seconds)
        return self.send(FailAttempt(step_id=step_id, attempt=number, error=error), seconds)


def kinds(decision: Decision) -> list[str]:
    return [event_type(event) for event in decision.events]


def started(definition: Definition, input: Any = None, **settings: Any) -> Runner:
    runner = Runner(definition, input, **settings)
    runner.send(Start())
    return runner
