"""The counting interpreter: jmespath's own results while within budget, a named error past it.

Hostile expressions build values far larger than their input from a few characters
(``[@,@]`` doubles, ``join`` doubles a string); each must stop with ExpressionTooCostly within
milliseconds, not after seconds of work.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfa.domain.errors import ExpressionError, ExpressionTooCostly
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET, Budget
from wfa.domain.expressions import evaluate, render

DOUBLE = "|[@,@]"
HOSTILE = [
    "length(to_string(@" + DOUBLE * 21 + "))",  # the reported one: 150 characters, 4 s before
    "@" + DOUBLE * 40,  # the result itself would be stored or printed
    "length(@" + DOUBLE * 40 + " == @" + DOUBLE * 40 + ")",
    "join('', [input.text, input.text])" + " | join('', [@,@,@,@])" * 12 + " | length(@)",
    "length([input.text]" + "| [@,@,@,@][]" * 14 + ")",  # flatten builds real lists
    "contains(@" + DOUBLE * 30 + ", `1`)",
    "length(sort([input.text]" + "| [@,@][]" * 24 + "))",
    "length(@" + DOUBLE * 30 + " | " + "[]" * 30 + ")",
]


@pytest.mark.parametrize("expression", HOSTILE)
def test_hostile_expressions_fail_fast_with_the_named_error(expression: str) -> None:
    context = {"input": {"text": "x" * 100}}
    evaluate("input", context)  # warm the interpreter, so only the expression is measured
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ExpressionTooCostly) as refused:
            evaluate(expression, context)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # What it built stays small (each doubling would otherwise double it): the check is
    # made as values are built, not after. Time is bounded loosely; make bench measures it.
    assert peak < 8 * 1024 * 1024, f"peak {peak:,} bytes"
    assert elapsed < 1.0, f"took {elapsed:.3f}s"
    assert refused.value.code == "expression.too_costly"
    assert "WFA_EXPRESSION_BUDGET" in str(refused.value)
    assert f"{DEFAULT_EXPRESSION_BUDGET:,}" in str(refused.value)


def test_picking_a_large_part_of_the_context_costs_nothing_for_its_size() -> None:
    # A 1 MB input passed on whole (``{{ input }}``) went over the default budget: picking
    # builds nothing, so only building and walking are charged.
    items = [{"id": number, "name": "x" * 20} for number in range(25_000)]
    context = {"input": {"items": items}}
    assert evaluate("input", context) == {"items": items}
    assert evaluate("input.items[0]", context) == items[0]
    with pytest.raises(ExpressionTooCostly):
        evaluate("to_string(input)", context)  # walked in full: charged in full


def test_a_long_linear_walk_stops_at_the_budget_too() -> None:
    items = [{"id": number, "tags": ["a", "b"]} for number in range(200_000)]
    started = time.perf_counter()
    with pytest.raises(ExpressionTooCostly):
        evaluate("input[*].[id, tags, id, tags]", {"input": items}, Budget(20_000))
    assert time.perf_counter() - started < 1.0  # the whole walk would take seconds


def test_expressions_of_one_budget_share_it() -> None:
    budget = Budget(50)
    evaluate("input.a", {"input": {"a": 1}}, budget)
    spent = 50 - budget.left
    assert 0 < spent < 10
    with pytest.raises(ExpressionTooCostly):
        render({"many": ["{{ input.a }}"] * 50}, {"input": {"a": 1}}, budget)


def test_a_budget_once_spent_stays_spent() -> None:
    budget = Budget(5)
    with pytest.raises(ExpressionTooCostly):
        evaluate("[input, input, input, input, input]", {"input": 1}, budget)
    with pytest.raises(ExpressionTooCostly):
        evaluate("input", {"input": 1}, budget)


def test_data_nested_deeper_than_python_walks_is_an_expression_error() -> None:
    nested: Any = 1
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate("to_string(input)", {"input": nested}, Budget(10**9))


def test_sizes_count_shared_parts_each_time() -> None:
    # [@,@] of a 3-item list writes out 2 * 4 + 1 units; the budget sees the written size.
    exact = Budget(10**6)
    evaluate("[@,@]", [1, 2, 3], exact)
    with pytest.raises(ExpressionTooCostly):
        evaluate("[@,@]", [1, 2, 3], Budget(10))


# Ordinary expressions: the same value as jmespath itself, whatever the data.
json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text("abc", max_size=3)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abc"), inner),
    max_leaves=12,
)
records = st.fixed_dictionaries(
    {"a": json_values, "b": json_values, "c": st.lists(json_values, max_size=4)}
)
ORDINARY = [
    "a",
    "a.b",
    "c[0]",
    "c[-1]",
    "c[1:3]",
    "c[::-1]",
    "c[*]",
    "c[]",
    "c[*].a",
    "c[?@ == `1`]",
    "c[?a]",
    "c[?a == b]",
    "*.a",
    "a || b",
    "a && b",
    "!a",
    "a == b",
    "a != b",
    "c[0] < c[1]",
    "[a, b]",
    "{x: a, y: c[0]}",
    "c | [0]",
    "length(c)",
    "type(a)",
    "to_string(a)",
    "to_array(a)",
    "keys(@)",
    "values(@)",
    "not_null(a, b)",
    "reverse(c)",
    "contains(c, a)",
    "join(',', c[?type(@) == 'string'])",
    "sort(c[?type(@) == 'number'])",
    "max(c[?type(@) == 'number'])",
    "sum(c[?type(@) == 'number'])",
    "sort_by(c[?type(@) == 'object'], &to_string(a))",
    "map(&type(@), c)",
    "merge(@, {z: `1`})",
    "length(@" + DOUBLE * 5 + ")",
]


@settings(max_examples=60, deadline=None)
@given(data=records)
def test_ordinary_expressions_give_jmespaths_own_results(data: dict[str, Any]) -> None:
    for expression in ORDINARY:
        try:
            expected = jmespath.search(expression, data)
        except jmespath.exceptions.JMESPathError:
            with pytest.raises(ExpressionError):
                evaluate(expression, data)
            continue
        except TypeError:  # jmespath ordering a number against a string: the spec says null
            assert evaluate(expression, data) is None, expression
            continue
        assert evaluate(expression, data) == expected, expression


def test_ordering_a_number_against_a_string_is_null_not_a_crash():
    assert evaluate("c[0] < c[1]", {"c": [1, "x"]}) is None
    assert evaluate("c[1] >= c[0]", {"c": [1, "x"]}) is None
    assert evaluate("c[0] < c[1]", {"c": ["a", "b"]}) is True
    assert evaluate("c[0] < c[1]", {"c": [2, 1.5]}) is False
