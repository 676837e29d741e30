"""Definition limits: every list and expression a client writes is bounded, and checks are linear.

A 14,000-step definition took a minute to check (a fixpoint over all steps) while the whole
process waited. Now a definition past ``WFA_MAX_STEPS`` is refused before its steps are
decoded, and each limit's refusal names the limit and its variable.
"""

from __future__ import annotations

import time
from typing import Any

import jmespath
import pytest

from tests.unit.domain.builders import choice, problems, task, workflow
from wfa.adapters.actions.transform import TransformParams
from wfa.domain.definition import Definition, SucceedStep, TaskStep
from wfa.domain.graph import steps_that_never_end, unreachable_steps
from wfa.domain.limits import DefinitionLimits
from wfa.domain.validation import parse_definition


def chain(count: int) -> list[dict[str, Any]]:
    return [task(f"s{number}") for number in range(count)]


def test_too_many_steps_are_refused_at_once_naming_the_limit() -> None:
    started = time.perf_counter()
    found = problems(workflow(*chain(14_000)))
    # Generous, so a busy machine cannot fail it; the quadratic check took over a minute.
    assert time.perf_counter() - started < 5.0
    assert found == ["steps: 14,000 steps; at most 1,000 are allowed (WFA_MAX_STEPS)"]


def test_the_step_limit_is_checked_before_the_steps_are_decoded() -> None:
    # Steps that are not even objects: counting them is all the work done.
    found = problems(workflow(*([None] * 5)), limits=DefinitionLimits(max_steps=4))
    assert found == ["steps: 5 steps; at most 4 are allowed (WFA_MAX_STEPS)"]


def test_a_definition_at_the_step_limit_is_accepted_quickly() -> None:
    started = time.perf_counter()
    definition = parse_definition(workflow(*chain(1_000)), known_actions={"log"})
    assert len(definition.steps) == 1_000
    assert time.perf_counter() - started < 10.0  # 3.6 s before the checks were linear


def test_graph_checks_are_linear_in_the_steps() -> None:
    # A chain ending at its last step: the old fixpoint learnt one step per pass (quadratic).
    count = 20_000
    steps = tuple(TaskStep(id=f"s{n}", action="log") for n in range(count))
    definition = Definition(name="long", steps=(*steps, SucceedStep(id="end")))
    started = time.perf_counter()
    assert steps_that_never_end(definition) == []
    assert unreachable_steps(definition) == []
    assert time.perf_counter() - started < 10.0  # minutes while it was quadratic


def test_steps_that_loop_forever_are_still_found() -> None:
    raw = workflow(
        task("a", next="b"),
        task("b", next="a"),
        task("c"),
    )
    found = problems(raw)
    assert "steps[0]: step 'a' can never reach an end (it only loops)" in found
    assert "steps[2]: step 'c' is unreachable from the first step" in found


@pytest.mark.parametrize(
    ("raw", "limits", "expected"),
    [
        (
            workflow(choice("c", *[("input.a", "end")] * 3), {"id": "end", "type": "succeed"}),
            DefinitionLimits(max_choices=2),
            "steps[0].choices: 3 choices; at most 2 are allowed (WFA_MAX_CHOICES)",
        ),
        (
            workflow(task("a", catch=[{"next": "a"}] * 3)),
            DefinitionLimits(max_catches=2),
            "steps[0].catch: 3 catch entries; at most 2 are allowed (WFA_MAX_CATCHES)",
        ),
        (
            workflow(task("a", catch=[{"errors": ["x", "y", "z"], "next": "a"}])),
            DefinitionLimits(max_error_names=2),
            "steps[0].catch[0].errors: 3 error names; at most 2 are allowed (WFA_MAX_ERROR_NAMES)",
        ),
        (
            workflow(task("a", retry={"retry_on": ["x", "y", "z"]})),
            DefinitionLimits(max_error_names=2),
            "steps[0].retry.retry_on: 3 error names; at most 2 are allowed (WFA_MAX_ERROR_NAMES)",
        ),
        (
            workflow(triggers=[{"type": "webhook", "path": f"p{n}"} for n in range(3)]),
            DefinitionLimits(max_triggers=2),
            "triggers: 3 triggers; at most 2 are allowed (WFA_MAX_TRIGGERS)",
        ),
    ],
)
def test_each_list_has_a_limit_named_in_its_refusal(
    raw: dict[str, Any], limits: DefinitionLimits, expected: str
) -> None:
    assert expected in problems(raw, limits=limits)


LONG = "input." + ".".join(["a"] * 1_100)  # 2,205 characters


@pytest.mark.parametrize(
    ("step", "path"),
    [
        (choice("c", (LONG, "c")), "steps[0].choices[0].when"),
        (task("a", params={"message": "{{ " + LONG + " }}"}), "steps[0].params.message"),
        ({"id": "s", "type": "succeed", "output": "{{ " + LONG + " }}"}, "steps[0].output"),
    ],
)
def test_expressions_have_a_length_limit(step: dict[str, Any], path: str) -> None:
    found = problems(workflow(step), known_actions={"log": dict[str, Any]})
    message = "an expression has at most 2,000 characters, this one has 2,205"
    assert f"{path}: {message} (WFA_MAX_EXPRESSION_LENGTH)" in found
    longer = DefinitionLimits(max_expression_length=3_000)
    parse_definition(workflow(step), known_actions={"log": dict[str, Any]}, limits=longer)


@pytest.mark.parametrize(
    "step",
    [
        choice("c", (LONG, "c")),
        task("a", params={"message": "{{ " + LONG + " }}"}),
        {"id": "s", "type": "succeed", "output": "{{ " + LONG + " }}"},
    ],
)
def test_an_expression_over_the_length_limit_is_never_parsed(
    step: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long expression refused for its length was still parsed by the secrets check, and
    # the parse kept in the caches: megabytes held for every refused request.
    parsed: list[str] = []
    real = jmespath.compile
    monkeypatch.setattr(jmespath, "compile", lambda text: parsed.append(text) or real(text))
    problems(workflow(step), known_actions={"log": dict[str, Any]})
    assert all(len(text) <= 2_000 for text in parsed)


def test_an_expression_param_has_the_length_limit_too() -> None:
    raw = workflow(task("a", action="transform", params={"expression": LONG}))
    found = problems(raw, known_actions={"transform": TransformParams})
    assert any(
        problem.startswith("steps[0].params.expression: an expression has at most 2,000")
        for problem in found
    )


def test_an_expression_nested_too_deeply_is_a_problem_not_a_crash() -> None:
    nested = "(" * 600 + "input" + ")" * 600
    found = problems(workflow(choice("c", (nested, "c"))))
    assert any(problem.startswith("steps[0].choices[0].when:") for problem in found)
    assert any("nested too deeply" in problem for problem in found)
