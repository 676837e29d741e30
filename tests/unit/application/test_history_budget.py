"""Looping workflows through the engine, on every store: each run ends on its history budget.

Before the budget these runs moved for ever, about a thousand events a second each, and the
store grew without bound (retention never prunes a running run).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.application.conftest import task, workflow
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import RunFailed
from wfa.domain.progress import EngineSettings
from wfa.domain.run import RunStatus

FAIL = {"error": "broken.for.good", "retryable": False}
LOOPS: dict[str, dict[str, Any]] = {
    "choice back to the task": workflow(
        task("work", "set", params={"n": 1}),
        {"id": "again", "type": "choice", "choices": [{"when": "`true`", "next": "work"}]},
    ),
    "a catch that points at itself": workflow(
        task("work", "fail", params=FAIL, catch=[{"errors": ["*"], "next": "work"}]),
    ),
    "a wait of 0 s looping back": workflow(
        task("work", "set", params={"n": 1}, catch=[{"next": "stop"}]),
        {"id": "pause", "type": "wait", "seconds": 0, "next": "work"},
        {"id": "stop", "type": "fail"},
    ),
}


async def assert_ended_on_budget(engine: Any, run_id: str, budget: int) -> None:
    details = await engine.settle(run_id)
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "run.history_limit"
    assert details.run.seq == budget
    assert [event.seq for event in details.history] == list(range(1, budget + 1))
    assert isinstance(details.history[-1], RunFailed)
    assert len(engine.queue) == 0, "nothing is left to deliver for a run that is over"


@pytest.mark.parametrize("name", list(LOOPS))
async def test_a_looping_run_ends_on_the_engine_budget(make_engine, name: str) -> None:
    engine = make_engine(settings=EngineSettings(max_events=60))
    workflow_ = await engine.add_workflow(LOOPS[name])
    run_id = await engine.start(workflow_.id)

    await assert_ended_on_budget(engine, run_id, 60)

    with pytest.raises(IllegalTransition, match="cannot be retried"):
        await engine.retry.execute(run_id)


async def test_a_workflow_lowers_the_engine_budget(make_engine) -> None:
    engine = make_engine(settings=EngineSettings(max_events=500))
    raw = {**LOOPS["choice back to the task"], "limits": {"max_events": 33}}
    workflow_ = await engine.add_workflow(raw)

    await assert_ended_on_budget(engine, await engine.start(workflow_.id), 33)
