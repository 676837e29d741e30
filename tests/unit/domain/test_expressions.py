"""``{{ expr }}`` templates: JMESPath over the run context, typed when whole, text when mixed."""

from __future__ import annotations

from typing import Any

import pytest

from wfa.domain.errors import ExpressionError
from wfa.domain.expressions import (
    as_text,
    check_template,
    compile_expression,
    condition_holds,
    evaluate,
    expressions_in,
    is_truthy,
    render,
)

CONTEXT: dict[str, Any] = {
    "input": {
        "order_id": 42,
        "customer": {"name": "Ada", "vip": True},
        "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}],
        "note": None,
        "price": 9.5,
        "empty": "",
    },
    "steps": {"fetch": {"output": {"status": 200, "body": {"total": 150}}}},
    "run": {"id": "run-1", "workflow_id": "wf", "attempt": 2},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ input.order_id }}", 42),
        ("{{input.price}}", 9.5),
        ("{{ input.customer }}", {"name": "Ada", "vip": True}),
        ("{{ input.items[*].sku }}", ["a", "b"]),
        ("{{ input.note }}", None),
        ("{{ input.missing }}", None),
        ("{{ input.customer.vip }}", True),
        ("  {{ steps.fetch.output.body.total }}  ", 150),
        ("{{ run.attempt }}", 2),
    ],
)
def test_a_whole_template_keeps_the_type_of_its_value(template: str, expected: Any) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("order {{ input.order_id }}", "order 42"),
        ("hi {{ input.customer.name }}!", "hi Ada!"),
        ("note: [{{ input.note }}]", "note: []"),
        ("price {{ input.price }}", "price 9.5"),
        ("vip={{ input.customer.vip }}", "vip=true"),
        ("c={{ input.customer }}", 'c={"name":"Ada","vip":true}'),
        ("skus={{ input.items[*].sku }}", 'skus=["a","b"]'),
        ("{{ input.order_id }}{{ run.id }}", "42run-1"),
        ("no templates here", "no templates here"),
    ],
)
def test_text_around_templates_renders_each_value_as_text(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [("plain", "plain"), (None, ""), (3, "3"), (1.5, "1.5"), (False, "false"), ("é", "é")],
)
def test_as_text_reads_strings_as_they_are_null_as_empty_and_the_rest_as_json(
    value: Any, text: str
) -> None:
    assert as_text(value) == text


def test_as_text_writes_compact_json_without_escaping_unicode() -> None:
    assert as_text({"city": "Zürich", "tags": [1, None]}) == '{"city":"Zürich","tags":[1,null]}'


def test_nested_dicts_and_lists_are_rendered_all_the_way_down() -> None:
    params = {
        "url": "https://shop.example/orders/{{ input.order_id }}",
        "json": {"who": "{{ input.customer.name }}", "lines": ["{{ input.items[0] }}", 7, None]},
        "retries": 3,
        "flag": False,
    }

    assert render(params, CONTEXT) == {
        "url": "https://shop.example/orders/42",
        "json": {"who": "Ada", "lines": [{"sku": "a", "qty": 2}, 7, None]},
        "retries": 3,
        "flag": False,
    }


def test_values_from_the_input_are_never_rendered_again() -> None:
    context = {"input": {"text": "{{ input.secret }}", "secret": "s3cret"}}

    assert render("{{ input.text }}", context) == "{{ input.secret }}"
    assert render("got: {{ input.text }}", context) == "got: {{ input.secret }}"
    assert render({"body": ["{{ input.text }}"]}, context) == {"body": ["{{ input.secret }}"]}


def test_nothing_is_evaluated_as_python() -> None:
    context = {"input": {"cmd": "__import__('os').system('echo hacked')"}}

    assert render("{{ input.cmd }}", context) == "__import__('os').system('echo hacked')"
    with pytest.raises(ExpressionError):
        render("{{ __import__('os') }}", context)


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("steps.fetch.output.body.total > `100`", True),
        ("steps.fetch.output.body.total > `200`", False),
        ("input.customer.vip", True),
        ("input.note", False),
        ("input.missing", False),
        ("input.empty", False),
        ("input.items", True),
        ("input.items[?qty > `5`]", False),
        ("input.customer", True),
        ("`{}`", False),
        ("`0`", True),  # zero is true in JMESPath, unlike Python
        ("input.customer.name == 'Ada' && input.order_id == `42`", True),
    ],
)
def test_conditions_use_jmespath_truth(condition: str, holds: bool) -> None:
    assert condition_holds(condition, CONTEXT) is holds


@pytest.mark.parametrize(
    ("value", "truthy"),
    [(None, False), (False, False), ("", False), ([], False), ({}, False), (0, True), ("x", True)],
)
def test_is_truthy(value: Any, truthy: bool) -> None:
    assert is_truthy(value) is truthy


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("input.[", "malformed expression 'input.['"),
        ("]]", "malformed expression ']]': invalid token at column 0"),
    ],
)
def test_expressions_that_do_not_parse_raise_expression_error(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as error:
        compile_expression(source)

    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("source", "literal"),
    [("x == 200", "`200`"), ("total > 100", "`100`"), ("a >= -1.5", "`-1.5`")],
)
def test_a_bare_number_is_answered_with_the_backticks_it_needs(source: str, literal: str) -> None:
    with pytest.raises(ExpressionError) as error:
        compile_expression(source)

    assert str(error.value).endswith(f"JMESPath literals need backticks: {literal}")


@pytest.mark.parametrize("source", ["status == 'ok'", "total > `100`", "items[0]"])
def test_quoted_and_backticked_literals_parse(source: str) -> None:
    compile_expression(source)


def test_other_parse_errors_carry_no_literal_hint() -> None:
    with pytest.raises(ExpressionError) as error:
        compile_expression("]]")

    assert "backticks" not in str(error.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "abs(input.customer.name)",
            "expression 'abs(input.customer.name)' failed: In function abs(), invalid type",
        ),
        ("nope(input)", "unknown function nope() in 'nope(input)'"),
    ],
)
def test_expressions_that_fail_while_evaluated_raise_expression_error(
    source: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as error:
        evaluate(source, CONTEXT)

    assert str(error.value).startswith(message)


def test_rendering_a_failing_expression_raises_expression_error() -> None:
    with pytest.raises(ExpressionError):
        render({"x": ["total {{ abs(input.customer) }}"]}, CONTEXT)


def test_expressions_in_finds_every_template_with_its_relative_path() -> None:
    value = {"a": ["{{ x }} and {{ y }}", {"b": "{{z}}"}], "c": 1, "d": "plain"}

    assert list(expressions_in(value)) == [
        (".a[0]", " x "),
        (".a[0]", " y "),
        (".a[1].b", "z"),
    ]


def test_check_template_lists_every_malformed_or_unclosed_expression() -> None:
    value = {"ok": "{{ input.a }}", "bad": ["{{ a.[ }}"], "open": "x {{ input.a }} {{ b"}

    found = check_template(value)

    assert [path for path, _ in found] == [".bad[0]", ".open"]
    assert found[0][1].startswith("malformed expression 'a.['")
    assert found[1][1] == "'{{' is never closed by '}}'"
    assert check_template("{{ input.a }} {{ steps.x.output }}") == []
    assert check_template(None) == []
