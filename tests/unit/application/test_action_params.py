"""Params as users meet them: refused with their path when registered, checked again when run."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import pytest

from tests.unit.application.conftest import task, workflow
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.application.ports.actions import ActionContext
from wfa.domain.errors import InvalidDefinition
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine


class ShipParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sku: str
    quantity: int = 1
    speed: Literal["standard", "express"] = "standard"


class Ship:
    """Records the params it was called with, as the action received them."""

    name = "ship"
    params_type: Any = ShipParams

    def __init__(self) -> None:
        self.received: list[Any] = []

    async def __call__(self, params: ShipParams, context: ActionContext) -> Any:
        self.received.append(params)
        return {"shipped": params.quantity}


def engine(*extra: Any) -> LocalEngine:
    return LocalEngine.virtual(actions=ActionRegistry([*builtin_actions(), *extra]))


def refusal(error: pytest.ExceptionInfo[InvalidDefinition]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


async def test_registering_refuses_params_that_do_not_fit_with_their_step_paths():
    raw = workflow(
        task("hello", "log", params={"message": "hi {{ input.name }}"}),
        task("shout", "log", params={"message": "HI", "level": "loud"}),
        task("send", "ship", params={"quantity": "two", "colour": "red"}),
        task("nap", "sleep", params={"seconds": 4000}),
    )
    with pytest.raises(InvalidDefinition) as refused:
        await engine(Ship()).add_workflow(raw)
    assert refusal(refused) == [
        "steps[1].params.level: expected one of 'debug', 'info', 'warning', got 'loud'",
        "steps[2].params.colour: unknown field",
        "steps[2].params: missing required field 'sku'",
        "steps[2].params.quantity: expected an integer, got a string",
        "steps[3].params.seconds: expected an integer <= 3600",
    ]


async def test_a_new_version_is_checked_the_same_way():
    wfa = engine()
    first = await wfa.add_workflow(workflow(task("say", "log", params={"message": "hi"})))
    with pytest.raises(InvalidDefinition) as refused:
        await wfa.update.execute(first.id, workflow(task("say", "log", params={"mesage": "hi"})))
    assert refusal(refused) == ["steps[0].params.mesage: unknown field"]


async def test_the_action_gets_its_params_as_its_own_type_with_defaults_filled_in():
    ship = Ship()
    raw = workflow(
        task("send", "ship", params={"sku": "{{ input.sku }}", "quantity": "{{ input.n }}"})
    )
    details = await engine(ship).run_once(raw, input={"sku": "A-1", "n": 3})
    assert details.run.output == {"shipped": 3}
    assert ship.received == [ShipParams(sku="A-1", quantity=3, speed="standard")]


async def test_rendered_params_that_do_not_fit_fail_the_step_for_good_naming_the_field():
    ship = Ship()
    retry = {"max_attempts": 5, "initial_interval": 1}
    raw = workflow(
        task("send", "ship", params={"sku": "A-1", "speed": "{{ input.speed }}"}, retry=retry)
    )
    details = await engine(ship).run_once(raw, input={"speed": "overnight"})
    assert details.run.status is RunStatus.FAILED
    (attempt,) = details.attempts  # not retried: the same params would fail the same way
    assert attempt.error is not None
    assert (attempt.error.error, attempt.error.retryable) == ("params.invalid", False)
    assert attempt.error.message == (
        "params.speed: expected one of 'standard', 'express', got 'overnight'"
    )
    assert ship.received == []  # the action never saw them


async def test_a_required_field_whose_template_renders_null_is_named():
    raw = workflow(task("send", "ship", params={"sku": "{{ input.missing }}"}))
    details = await engine(Ship()).run_once(raw, input={})
    assert details.run.error is not None
    assert details.run.error.error == "params.invalid"
    assert details.run.error.message == "params.sku: expected a string, got null"
