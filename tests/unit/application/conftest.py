"""Engines on the memory adapters with a fake clock, and actions that tests can script."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.delegating import DelegatingUnitOfWork
from tests.recording import RecordingEventPublisher, RecordingJobQueue
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.clock import FakeClock, SeededEntropy
from wfa.application.ports.actions import ActionContext, ActionError
from wfa.application.ports.repositories import UnitOfWork, UnitOfWorkFactory
from wfa.domain.progress import EngineSettings
from wfa.entrypoints.local import LocalEngine


class Scripted:
    """An action whose outcome per call is scripted: a value to return or an error to raise."""

    params_type: Any = dict[str, Any]

    def __init__(self, name: str, outcomes: Callable[[int, ActionContext], Any]) -> None:
        self.name = name
        self._outcomes = outcomes
        self.calls: list[tuple[dict[str, Any], ActionContext]] = []

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        self.calls.append((params, context))
        outcome = self._outcomes(len(self.calls), context)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Sleepy:
    name = "sleepy"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        await asyncio.sleep(float(params.get("seconds", 1.0)))
        return "woke"


def flaky(failures: int, error: str = "upstream.busy") -> Callable[[int, ActionContext], Any]:
    """Fail the first ``failures`` calls with a retryable error, then succeed."""

    def outcome(call: int, context: ActionContext) -> Any:
        if call <= failures:
            return ActionError(error, f"call {call} failed")
        return {"call": call}

    return outcome


@pytest.fixture
def scripted() -> dict[str, Scripted]:
    return {}


class CountingUnitOfWork(DelegatingUnitOfWork):
    """Wraps a unit of work to count commits: the engine's write path has a budget."""

    def __init__(self, inner: UnitOfWork, counter: list[int]) -> None:
        super().__init__(inner)
        self._counter = counter

    async def commit(self) -> None:
        await super().commit()
        self._counter[0] += 1


class CountedEngine(LocalEngine):
    commits: list[int]


@pytest.fixture
def make_engine(
    scripted: dict[str, Scripted], uow_factory: UnitOfWorkFactory
) -> Callable[..., CountedEngine]:
    """Engines on each persistence adapter in turn, with a fake clock and scripted actions."""

    def make(
        max_payload_bytes: int = 1_048_576,
        schedule_catchup: timedelta = timedelta(hours=1),
        settings: EngineSettings | None = None,
        **scripts: Callable[[int, ActionContext], Any],
    ) -> CountedEngine:
        registry = ActionRegistry([*builtin_actions(), Sleepy()])
        for name, outcomes in scripts.items():
            scripted[name] = Scripted(name, outcomes)
            registry.register(scripted[name])
        commits = [0]
        engine = CountedEngine(
            clock=FakeClock(),
            entropy=SeededEntropy(7),
            actions=registry,
            unit_of_work=lambda: CountingUnitOfWork(uow_factory(), commits),
            max_payload_bytes=max_payload_bytes,
            schedule_catchup=schedule_catchup,
            queue=RecordingJobQueue(),
            events=RecordingEventPublisher(),
            settings=settings,
        )
        engine.commits = commits
        return engine

    return make


def task(step_id: str, action: str = "noop", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "task", "action": action, **extra}


def workflow(*steps: dict[str, Any], name: str = "test") -> dict[str, Any]:
    return {"name": name, "steps": list(steps)}
