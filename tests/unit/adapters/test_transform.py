"""The ``transform`` action: reshape, filter and pick with JMESPath over the run context."""

from __future__ import annotations

from typing import Any

import pytest

from wfa.domain.errors import InvalidDefinition
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine

ORDER = {
    "id": 7,
    "customer": {"name": "Ada", "email": "ada@example.org", "vip": True},
    "items": [
        {"name": "pen", "price": 2.5, "qty": 4},
        {"name": "lamp", "price": 40, "qty": 1},
        {"name": "desk", "price": 120, "qty": 1},
    ],
}


def flow(params: dict[str, Any], *before: dict[str, Any]) -> dict[str, Any]:
    fetch = {"id": "fetch", "type": "task", "action": "set", "params": {"body": "{{ input }}"}}
    shape = {"id": "shape", "type": "task", "action": "transform", "params": params}
    return {"name": "shape-order", "steps": [*before, fetch, shape]}


async def run(params: dict[str, Any], input: Any = ORDER) -> Any:
    details = await LocalEngine.virtual().run_once(flow(params), input=input)
    assert details.run.status is RunStatus.SUCCEEDED, details.run.error
    return details.run.output


async def test_a_mapping_reshapes_the_data_into_a_new_object():
    mapping = {
        "order": "input.id",
        "customer": "steps.fetch.output.body.customer.name",
        "total": "sum(steps.fetch.output.body.items[].price)",
        "names": "steps.fetch.output.body.items[?price > `10`].name",
        "count": "length(input.items)",
    }
    assert await run({"mapping": mapping}) == {
        "order": 7,
        "customer": "Ada",
        "total": 162.5,
        "names": ["lamp", "desk"],
        "count": 3,
    }


async def test_an_expression_filters_and_its_value_is_the_output():
    expression = "input.items[?qty > `1` || price >= `100`].{item: name, each: price}"
    assert await run({"expression": expression}) == [
        {"item": "pen", "each": 2.5},
        {"item": "desk", "each": 120},
    ]


async def test_an_expression_picks_one_value_or_a_few_fields():
    assert await run({"expression": "input.customer.email"}) == "ada@example.org"
    picked = await run({"expression": "input.customer.{name: name, vip: vip}"})
    assert picked == {"name": "Ada", "vip": True}


async def test_what_is_missing_is_null_not_an_error():
    assert await run({"mapping": {"coupon": "input.coupon.code"}}) == {"coupon": None}


async def test_run_metadata_is_in_the_context_too():
    assert await run({"expression": "run.attempt"}) == 1


async def test_an_expression_that_fails_on_the_data_fails_the_step_for_good():
    raw = flow({"expression": "sum(input.items[].name)"})
    details = await LocalEngine.virtual().run_once(raw, input=ORDER)
    assert details.run.status is RunStatus.FAILED
    (_, attempt) = details.attempts
    assert attempt.error is not None
    assert (attempt.error.error, attempt.error.retryable) == ("transform.failed", False)
    assert attempt.error.message.startswith("expression 'sum(input.items[].name)' failed:")


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            {"mapping": {"ok": "input.id", "total": "sum(input.items[].price"}},
            "steps[1].params.mapping.total: malformed expression 'sum(input.items[].price': ",
        ),
        (
            {"expression": "upper(input.customer.name)"},
            "steps[1].params.expression: unknown function upper() in 'upper(input.customer.name)'",
        ),
        (
            {"expression": "{{ input.query }}"},
            "steps[1].params.expression: a JMESPath expression, not a template: "
            "write it without '{{ }}'",
        ),
        ({"mapping": {"n": 1}}, "steps[1].params.mapping.n: expected a string, got an integer"),
        ({"expresion": "input"}, "steps[1].params.expresion: unknown field"),
        ({}, "steps[1].params: give exactly one of 'expression' or 'mapping'"),
        (
            {"expression": "input", "mapping": {"a": "input"}},
            "steps[1].params: give exactly one of 'expression' or 'mapping'",
        ),
    ],
)
async def test_bad_params_are_refused_at_registration_with_their_path(params, problem):
    with pytest.raises(InvalidDefinition) as refused:
        await LocalEngine.virtual().add_workflow(flow(params))
    found = [str(each) for each in refused.value.problems]
    assert len(found) == 1
    assert found[0].startswith(problem)
