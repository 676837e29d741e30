"""Each step's own settings, its expressions and its links to other steps are checked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain.builders import problems, task, workflow
from wfa.domain.validation import parse_definition


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"timeout": 0}, "steps[0].timeout: must be more than 0 and at most 31622400 seconds"),
        (
            {"timeout": float("nan")},
            "steps[0].timeout: must be more than 0 and at most 31622400 seconds",
        ),
        ({"timeout": 1e12}, "steps[0].timeout: must be more than 0 and at most 31622400 seconds"),
        ({"retry": {"max_attempts": 0}}, "steps[0].retry.max_attempts: must be between 1 and 100"),
        (
            {"retry": {"max_attempts": 101}},
            "steps[0].retry.max_attempts: must be between 1 and 100",
        ),
        (
            {"retry": {"backoff_rate": 0.5}},
            "steps[0].retry.backoff_rate: must be between 1 and 100",
        ),
        (
            {"retry": {"initial_interval": -1, "max_interval": 5}},
            "steps[0].retry.initial_interval: must be between 0 and 31622400 seconds",
        ),
        (
            {"retry": {"initial_interval": 10, "max_interval": 5}},
            "steps[0].retry.max_interval: "
            "must be at least initial_interval and at most 31622400 seconds",
        ),
        (
            {"retry": {"max_interval": 1e300}},
            "steps[0].retry.max_interval: "
            "must be at least initial_interval and at most 31622400 seconds",
        ),
        (
            {"retry": {"retry_on": []}},
            "steps[0].retry.retry_on: must name at least one error (or '*')",
        ),
        (
            {"retry": {"jitter": "half"}},
            "steps[0].retry.jitter: Invalid enum value 'half'",
        ),
        (
            {"catch": [{"errors": [], "next": "a"}]},
            "steps[0].catch[0].errors: must name at least one error (or '*')",
        ),
        (
            {"params": {"url": "https://x/{{ input.id "}},
            "steps[0].params.url: '{{' is never closed by '}}'",
        ),
        (
            {"params": {"headers": [{"x": "{{ }}"}]}},
            "steps[0].params.headers[0].x: empty expression",
        ),
    ],
)
def test_task_settings_are_checked(step: dict[str, Any], expected: str) -> None:
    assert problems(workflow(task(**step))) == [expected]


def test_malformed_expressions_are_reported_in_params_output_cause_until_and_when() -> None:
    raw = workflow(
        task("a", params={"to": "{{ input.[ }}"}),
        {"id": "c", "type": "choice", "choices": [{"when": "a ==", "next": "w"}], "default": "w"},
        {"id": "w", "type": "wait", "until": "{{ ]] }}"},
        {"id": "s", "type": "succeed", "output": {"total": "{{ sum( }}"}},
    )
    raw["steps"][0]["catch"] = [{"next": "f"}]
    raw["steps"].append({"id": "f", "type": "fail", "cause": "lost {{ && }}"})

    found = problems(raw)

    assert [problem.split(":")[0] for problem in found] == [
        "steps[0].params.to",
        "steps[1].choices[0].when",
        "steps[2].until",
        "steps[3].output.total",
        "steps[4].cause",
    ]
    assert found[0].startswith("steps[0].params.to: malformed expression 'input.['")
    assert found[1].startswith("steps[1].choices[0].when: malformed expression 'a =='")
    assert found[2].startswith("steps[2].until: malformed expression ']]': invalid token")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({}, "steps[0]: a wait step needs exactly one of 'seconds' or 'until'"),
        (
            {"seconds": 5, "until": "2030-01-01T00:00:00Z"},
            "steps[0]: a wait step needs exactly one of 'seconds' or 'until'",
        ),
        ({"seconds": -1}, "steps[0].seconds: must be between 0 and 31622400 seconds"),
        ({"seconds": 1e12}, "steps[0].seconds: must be between 0 and 31622400 seconds"),
    ],
)
def test_wait_steps_need_exactly_one_non_negative_deadline(
    step: dict[str, Any], expected: str
) -> None:
    assert problems(workflow({"id": "w", "type": "wait", **step})) == [expected]


def test_choice_and_fail_steps_need_their_content() -> None:
    raw = workflow({"id": "c", "type": "choice", "choices": [], "default": "f"})
    raw["steps"].append({"id": "f", "type": "fail", "error": " "})

    assert problems(raw) == [
        "steps[0].choices: a choice step needs at least one choice",
        "steps[1].error: must not be empty",
    ]


def test_dangling_targets_are_reported_at_each_link() -> None:
    raw = workflow(
        task("a", next="ghost", catch=[{"next": "nowhere"}]),
        {
            "id": "c",
            "type": "choice",
            "choices": [{"when": "x", "next": "gone"}],
            "default": "lost",
        },
    )

    assert problems(raw) == [
        "steps[0].next: unknown step 'ghost'",
        "steps[0].catch[0].next: unknown step 'nowhere'",
        "steps[1].choices[0].next: unknown step 'gone'",
        "steps[1].default: unknown step 'lost'",
    ]


def test_unreachable_steps_and_endless_loops_are_reported() -> None:
    unreachable = workflow({"id": "a", "type": "succeed"}, task("orphan"))
    looping = workflow(
        task("a", next="b"),
        {"id": "b", "type": "choice", "choices": [{"when": "x", "next": "a"}], "default": "a"},
    )

    assert problems(unreachable) == ["steps[1]: step 'orphan' is unreachable from the first step"]
    assert problems(looping) == [
        "steps[0]: step 'a' can never reach an end (it only loops)",
        "steps[1]: step 'b' can never reach an end (it only loops)",
    ]


def test_unknown_actions_are_refused_only_when_the_known_ones_are_given() -> None:
    raw = workflow(task("a", action="email.send"))

    assert parse_definition(raw).start.id == "a"
    assert problems(raw, known_actions={"log"}) == [
        "steps[0].action: unknown action 'email.send' (known: log)"
    ]


def test_choice_conditions_may_contain_braces_but_not_unknown_functions() -> None:
    raw = workflow(
        {
            "id": "c",
            "type": "choice",
            "choices": [
                {"when": "input.a == '}}'", "next": "done"},
                {"when": "nope(input.a)", "next": "done"},
            ],
            "default": "done",
        },
        {"id": "done", "type": "succeed"},
    )
    assert problems(raw) == ["steps[0].choices[1].when: unknown function nope() in 'nope(input.a)'"]


def test_templates_calling_unknown_functions_are_refused_at_validation() -> None:
    raw = workflow(task("a", params={"x": "{{ upper(input.name) }}"}))
    assert problems(raw) == ["steps[0].params.x: unknown function upper() in 'upper(input.name)'"]


def test_a_misspelt_step_id_is_answered_with_the_close_one() -> None:
    raw = workflow(task("fetch", next="proces"), task("process"), task("done"))

    assert problems(raw) == ["steps[0].next: unknown step 'proces'; did you mean 'process'?"]


def test_a_misspelt_action_names_the_close_one_and_then_every_known_one() -> None:
    raw = workflow(task("a", action="http.get"))

    assert problems(raw, known_actions={"http.request", "log", "set"}) == [
        "steps[0].action: unknown action 'http.get'; did you mean 'http.request'? "
        "(known: http.request, log, set)"
    ]
