"""Where a costly expression surfaces: the run, the attempt or the step fails with
``expression.too_costly``, never retried, and in milliseconds rather than seconds."""

from __future__ import annotations

import time

from tests.unit.application.conftest import task, workflow
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.domain.progress import EngineSettings
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine

COSTLY = "length(to_string(@" + "|[@,@]" * 21 + "))"
ANY_ERROR = {"max_attempts": 5, "initial_interval": 1, "retry_on": ["*"]}


def engine(budget: int | None = None) -> LocalEngine:
    if budget is None:
        return LocalEngine.virtual()
    actions = ActionRegistry(builtin_actions(expression_budget=budget))
    return LocalEngine.virtual(actions=actions, settings=EngineSettings(expression_budget=budget))


async def test_a_costly_choice_fails_the_run_at_that_step() -> None:
    raw = workflow(
        {"id": "pick", "type": "choice", "choices": [{"when": COSTLY, "next": "done"}]},
        {"id": "done", "type": "succeed"},
    )
    started = time.perf_counter()
    details = await engine().run_once(raw, input={"order": 1})
    assert time.perf_counter() - started < 5.0  # 8.5 s unbounded; generous for busy machines
    assert details.run.status is RunStatus.FAILED
    assert details.run.failed_step == "pick"
    assert details.run.error is not None
    assert details.run.error.error == "expression.too_costly"
    assert "WFA_EXPRESSION_BUDGET" in details.run.error.message


async def test_costly_params_fail_the_attempt_without_a_retry() -> None:
    raw = workflow(task("say", "log", params={"message": "{{ " + COSTLY + " }}"}, retry=ANY_ERROR))
    details = await engine().run_once(raw, input={"order": 1})
    assert details.run.status is RunStatus.FAILED
    assert [attempt.error.error for attempt in details.attempts if attempt.error] == [
        "expression.too_costly"
    ]
    assert len(details.attempts) == 1


async def test_a_costly_transform_fails_its_step_without_a_retry() -> None:
    raw = workflow(task("shape", "transform", params={"expression": COSTLY}, retry=ANY_ERROR))
    details = await engine().run_once(raw, input={"order": 1})
    assert details.run.status is RunStatus.FAILED
    assert len(details.attempts) == 1
    error = details.attempts[0].error
    assert error is not None
    assert error.error == "expression.too_costly"


async def test_the_budget_is_the_engines_setting() -> None:
    # A hundred items built into a new list (a projection) fit the default budget but not
    # one of 50 units, in every place.
    data = {"items": list(range(100))}
    choice = workflow(
        {"id": "pick", "type": "choice", "choices": [{"when": "input.items[*]", "next": "end"}]},
        {"id": "end", "type": "succeed"},
    )
    transform = workflow(task("shape", "transform", params={"expression": "input.items[*]"}))
    params = workflow(task("say", "log", params={"message": "{{ input.items[*] }}"}))
    for raw in (choice, transform, params):
        assert (await engine().run_once(raw, input=data)).run.status is RunStatus.SUCCEEDED
        tight = await engine(budget=50).run_once(raw, input=data)
        assert tight.run.status is RunStatus.FAILED
        errors = [tight.run.error] + [attempt.error for attempt in tight.attempts]
        assert any(error and error.error == "expression.too_costly" for error in errors)
