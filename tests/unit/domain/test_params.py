"""Params checked against their action's params type: every problem with the path users read."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import msgspec
import pytest

from wfa.domain.errors import InvalidParams
from wfa.domain.params import Expression, convert_params, params_problems
from wfa.domain.validation import parse_definition

from .builders import problems, task, workflow


class Header(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    value: str


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    method: Literal["GET", "POST"] = "GET"
    timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    retries: int | None = None
    headers: list[Header] = []
    query: dict[str, str] = {}
    body: Any = None


class Lenient(msgspec.Struct, frozen=True):
    """Unknown fields are ignored, as msgspec does by default."""

    count: int = 0


class Query(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    select: Expression
    where: Expression | None = None


class Window(msgspec.Struct, frozen=True, kw_only=True):
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end must not come before start")


ACTIONS = {
    "call": Request,
    "count": Lenient,
    "query": Query,
    "window": Window,
    "any": dict[str, Any],
}


def found(value: Any, params_type: Any) -> list[str]:
    return [str(problem) for problem in params_problems(value, params_type)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["missing required field 'url'"]),
        ({"url": 7}, [".url: expected a string, got an integer"]),
        ({"url": "u", "method": "PUT"}, [".method: expected one of 'GET', 'POST', got 'PUT'"]),
        ({"url": "u", "timeout": 0}, [".timeout: expected a number > 0.0"]),
        ({"url": "u", "retries": "two"}, [".retries: expected an integer or null, got a string"]),
        ({"url": "u", "verb": "GET"}, [".verb: unknown field"]),
        ({"url": "u", "headers": [{"name": "a", "value": "b"}, {"name": "c"}]},
         [".headers[1]: missing required field 'value'"]),
        ({"url": "u", "headers": [{"name": "a", "value": 1}]},
         [".headers[0].value: expected a string, got an integer"]),
        ({"url": "u", "query": {"page": 2}}, [".query.page: expected a string, got an integer"]),
        ("everything", ["expected an object, got a string"]),
    ],
)  # fmt: skip
def test_each_problem_is_named_at_its_path(params: Any, expected: list[str]) -> None:
    assert found(params, Request) == expected


def test_every_problem_is_listed_at_once() -> None:
    params = {"method": "PUT", "extra": 1, "headers": [{"name": 1, "value": "v"}]}
    assert sorted(found(params, Request)) == [
        ".extra: unknown field",
        ".headers[0].name: expected a string, got an integer",
        ".method: expected one of 'GET', 'POST', got 'PUT'",
        "missing required field 'url'",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"url": "{{ input.url }}"},
        {"url": "https://shop/{{ input.id }}/items"},  # some string, once rendered
        {"url": "u", "method": "{{ input.method }}"},  # may be GET or POST at run time
        {"url": "u", "timeout": "{{ input.timeout }}", "retries": "{{ input.retries }}"},
        {"url": "u", "headers": "{{ input.headers }}"},  # a whole list from the input
        {"url": "u", "headers": [{"name": "{{ input.h }}", "value": "{{ input.v }}"}]},
        {"url": "u", "query": {"page": "{{ input.page }}"}, "body": {"any": ["{{ input }}"]}},
        "{{ input.request }}",  # the whole params
    ],
)
def test_templates_are_accepted_wherever_their_value_may_fit(params: Any) -> None:
    assert found(params, Request) == []


def test_text_around_a_template_makes_a_string_which_only_string_fields_take() -> None:
    params = {"url": "u", "timeout": "{{ input.t }}s", "method": "G{{ input.rest }}"}
    assert found(params, Request) == [".timeout: expected a number, got a string"]


def test_unknown_fields_pass_when_the_type_does_not_forbid_them() -> None:
    assert found({"count": 2, "note": "ignored"}, Lenient) == []
    assert found({"count": "2"}, Lenient) == [".count: expected an integer, got a string"]


def test_expression_fields_must_parse_and_are_never_templates() -> None:
    assert found({"select": "items[?price > `10`].name", "where": None}, Query) == []
    assert found({"select": "items[?price >"}, Query) == [
        ".select: malformed expression 'items[?price >': Invalid jmespath expression at column 14"
    ]
    assert found({"select": "a", "where": "upper(name)"}, Query) == [
        ".where: unknown function upper() in 'upper(name)'"
    ]
    assert found({"select": "{{ input.q }}"}, Query) == [
        ".select: a JMESPath expression, not a template: write it without '{{ }}'"
    ]


def test_what_the_type_itself_refuses_is_reported_when_no_template_hides_the_values() -> None:
    assert found({"start": 5, "end": 1}, Window) == ["end must not come before start"]
    assert found({"start": "{{ input.a }}", "end": 1}, Window) == []


def test_rendered_params_convert_to_the_type() -> None:
    converted = convert_params({"url": "u", "headers": [{"name": "a", "value": "b"}]}, Request)
    assert converted == Request(url="u", headers=[Header(name="a", value="b")])


def test_rendered_params_that_do_not_fit_name_each_field_under_params() -> None:
    with pytest.raises(InvalidParams) as refused:
        convert_params({"url": "u", "method": "PUT", "retries": 1.5}, Request)
    assert str(refused.value) == (
        "params.method: expected one of 'GET', 'POST', got 'PUT'; "
        "params.retries: expected an integer or null, got a number"
    )


def test_rendered_values_are_never_taken_for_templates() -> None:
    # An input value that looks like a template is just text by now: it must fit as it is.
    with pytest.raises(InvalidParams, match=r"params\.timeout: expected a number, got a string"):
        convert_params({"url": "u", "timeout": "{{ input.t }}"}, Request)


def test_a_definition_is_refused_with_each_params_problem_at_its_step_path() -> None:
    raw = workflow(
        task("fetch", action="call", params={"url": "https://x/{{ input.id }}"}),
        task("post", action="call", params={"method": "PUT", "url": "u", "verb": 1}),
        task("bare", action="call"),
        task("pick", action="query", params={"select": "a.["}),
    )
    assert problems(raw, known_actions=ACTIONS) == [
        "steps[1].params.verb: unknown field",
        "steps[1].params.method: expected one of 'GET', 'POST', got 'PUT'",
        "steps[2].params: missing required field 'url'",
        "steps[3].params.select: malformed expression 'a.[': "
        "Invalid jmespath expression at column 3",
    ]


def test_a_definition_whose_params_fit_is_built() -> None:
    raw = workflow(
        task("fetch", action="call", params={"url": "u", "timeout": "{{ input.t }}"}),
        task("shape", action="any", params={"whatever": ["{{ steps.fetch.output }}", 1]}),
    )
    definition = parse_definition(raw, known_actions=ACTIONS)
    assert [step.id for step in definition.steps] == ["fetch", "shape"]


def test_names_alone_check_the_actions_but_not_their_params() -> None:
    raw = workflow(task("post", action="call", params={"verb": 1}))
    assert parse_definition(raw, known_actions={"call"}).start.id == "post"
    assert problems(raw, known_actions={"log"}) == [
        "steps[0].action: unknown action 'call' (known: log)"
    ]


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Pair(msgspec.Struct, frozen=True, array_like=True):
    left: int
    right: int


class Circle(msgspec.Struct, frozen=True, tag_field="kind", tag="circle"):
    radius: float


class Sum(msgspec.Struct, frozen=True, tag_field="op", tag="sum"):
    of: Expression


class Count(msgspec.Struct, frozen=True, tag_field="op", tag="count"):
    of: Expression


class Shapes(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    point: tuple[int, int] = (0, 0)
    tags: Annotated[list[str], msgspec.Meta(max_length=2)] = []
    colour: Colour = Colour.RED
    pair: Pair | None = None
    circle: Circle | None = None
    window: Window | None = None
    reduce: Sum | Count | None = None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"point": [1]}, [".point: expected an array of 2 items, got 1"]),
        ({"point": [1, "a"]}, [".point[1]: expected an integer, got a string"]),
        ({"tags": ["a", "b", "c"]}, [".tags: expected an array of length <= 2"]),
        ({"tags": ["a", 1]}, [".tags[1]: expected a string, got an integer"]),
        ({"colour": "green"}, [".colour: expected one of 'red', 'blue', got 'green'"]),
        ({"colour": None}, [".colour: expected one of 'red', 'blue', got null"]),
        ({"pair": [1]}, [".pair: expected an array of at least length 2, got 1"]),
        ({"circle": {"kind": "square", "radius": 1}}, [".circle.kind: expected 'circle'"]),
        ({"window": {"start": "x", "end": 1}},
         [".window.start: expected an integer, got a string"]),
        ({"window": {"start": 1, "end": 2}, "point": ["{{ input.x }}", 2]}, []),
        ({"reduce": {"op": "count", "of": "a.["}},
         [".reduce.of: malformed expression 'a.[': Invalid jmespath expression at column 3"]),
        ({"reduce": {"op": "avg", "of": "a"}}, [".reduce.op: invalid value 'avg'"]),
    ],
)  # fmt: skip
def test_tuples_constraints_enums_and_tagged_or_array_like_structs(params, expected):
    assert found(params, Shapes) == expected


def test_what_the_type_refuses_of_rendered_params_is_said_in_its_own_words():
    with pytest.raises(InvalidParams) as refused:
        convert_params({"start": 5, "end": 1}, Window)
    assert str(refused.value) == "params: end must not come before start"
