"""Definitions are refused as a whole, every problem listed with its path and a clear message."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.unit.domain.builders import problems, task, workflow
from wfa.domain.definition import (
    END,
    ChoiceStep,
    FailStep,
    ManualTrigger,
    ScheduleTrigger,
    SucceedStep,
    TaskStep,
    WebhookTrigger,
)
from wfa.domain.errors import InvalidDefinition
from wfa.domain.retry import RetryPolicy
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

CONTRACT_EXAMPLE = """{
  "name": "order-created",
  "trigger": {"type": "webhook", "path": "orders"},
  "steps": [
    {"id": "fetch", "type": "task", "action": "http.request",
     "params": {"method": "GET", "url": "https://shop.example/orders/{{ input.order_id }}"},
     "retry": {"max_attempts": 5, "initial_interval": 1.0, "backoff_rate": 2.0,
               "max_interval": 60.0, "jitter": "full", "retry_on": ["*"]},
     "timeout": 30, "catch": [{"errors": ["*"], "next": "report"}]},
    {"id": "big", "type": "choice",
     "choices": [{"when": "steps.fetch.output.body.total > `100`", "next": "notify"}],
     "default": "done"},
    {"id": "notify", "type": "task", "action": "log",
     "params": {"message": "big order {{ input.order_id }}"}},
    {"id": "done", "type": "succeed"},
    {"id": "report", "type": "fail", "error": "FetchFailed"}
  ]
}"""


def test_the_contract_example_parses_into_typed_steps() -> None:
    definition = parse_definition(json.loads(CONTRACT_EXAMPLE))

    assert definition.name == "order-created"
    assert definition.triggers == (WebhookTrigger(path="orders"),)
    assert [type(step) for step in definition.steps] == [
        TaskStep,
        ChoiceStep,
        TaskStep,
        SucceedStep,
        FailStep,
    ]
    fetch = definition.step("fetch")
    assert isinstance(fetch, TaskStep)
    assert fetch.timeout == 30
    assert fetch.retry == RetryPolicy(max_attempts=5, max_interval=60.0, jitter="full")
    assert fetch.catcher_for("http.500") is not None
    notify = definition.step("notify")
    assert isinstance(notify, TaskStep)
    assert notify.params == {"message": "big order {{ input.order_id }}"}
    assert (definition.following(fetch), definition.following(notify)) == ("big", "done")
    assert definition.has_step("report")
    assert not definition.has_step("Report")


def test_a_parsed_definition_survives_a_round_trip_through_plain_data() -> None:
    definition = parse_definition(json.loads(CONTRACT_EXAMPLE))

    assert parse_definition(definition.to_builtins()) == definition


def test_defaults_a_manual_trigger_and_runs_off_the_end_of_the_list() -> None:
    definition = parse_definition(workflow(task("only")))

    assert definition.triggers == (ManualTrigger(),)
    assert isinstance(definition.start, TaskStep)
    assert definition.following(definition.start) == END


def test_several_triggers_and_known_actions_are_accepted() -> None:
    raw = workflow(
        task("a", action="http.request"),
        triggers=[
            {"type": "manual"},
            {"type": "webhook", "path": "orders/new", "secret": "s3cret"},
            {"type": "schedule", "cron": "*/5 * * * *", "timezone": "Europe/Paris"},
        ],
    )

    definition = parse_definition(raw, known_actions={"http.request", "log"})

    assert definition.triggers[2] == ScheduleTrigger(cron="*/5 * * * *", timezone="Europe/Paris")
    stored = Workflow(id="wf", version=2, definition=definition, created_at=datetime(2030, 1, 1))
    assert stored.name == "test"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(["not", "a", "dict"], ["a definition must be an object"], id="not-object"),
        pytest.param(
            {"name": "x", "steps": []},
            ["steps: a workflow needs a non-empty array of steps"],
            id="empty-steps",
        ),
        pytest.param({"steps": [task()]}, ["name: required"], id="missing-name"),
        pytest.param(
            {"name": 3, "steps": [task()]}, ["name: Expected `str`, got `int`"], id="name-type"
        ),
        pytest.param({"name": "  ", "steps": [task()]}, ["name: must not be empty"], id="blank"),
        pytest.param(workflow(owner="me"), ["owner: unknown field"], id="unknown-top-field"),
        pytest.param(
            workflow(task(colour="red")), ["steps[0].colour: unknown field"], id="unknown-field"
        ),
        pytest.param(
            workflow(task(timeout="soon")),
            ["steps[0].timeout: Expected `float | null`, got `str`"],
            id="wrong-type",
        ),
        pytest.param(
            workflow(task(retry={"retry_on": ["http.*", 5]})),
            ["steps[0].retry.retry_on[1]: Expected `str`, got `int`"],
            id="wrong-type-inside-array",
        ),
        pytest.param(
            workflow({"id": "a", "type": "task"}), ["steps[0].action: required"], id="missing"
        ),
        pytest.param(
            workflow({"id": "a", "type": "teleport"}),
            [
                "steps[0].type: unknown step type 'teleport' "
                "(expected one of: task, choice, wait, succeed, fail, parallel, map, workflow, "
                "await)"
            ],
            id="unknown-step-type",
        ),
        pytest.param(
            workflow({"id": "a"}),
            [
                "steps[0].type: missing "
                "(expected one of: task, choice, wait, succeed, fail, parallel, map, workflow, "
                "await)"
            ],
            id="missing-step-type",
        ),
        pytest.param(
            workflow("step"), ["steps[0]: expected an object, got a string"], id="step-not-object"
        ),
        pytest.param(
            workflow(task(retry=None)),
            ["steps[0].retry: expected an object, got null"],
            id="retry-null",
        ),
        pytest.param(
            workflow(task(catch={"next": "a"})),
            ["steps[0].catch: expected an array, got an object"],
            id="catch-not-array",
        ),
        pytest.param(
            workflow({"id": "c", "type": "choice", "choices": [True]}),
            ["steps[0].choices[0]: expected an object, got a boolean"],
            id="choice-not-object",
        ),
        pytest.param(
            workflow(task("a"), task("a")),
            ["steps[1].id: duplicate step id 'a' (first at steps[0])"],
            id="duplicate-ids",
        ),
        pytest.param(
            workflow(task("1st")),
            [
                "steps[0].id: '1st' is not a valid step id "
                "(letters, digits, _ and -, starting with a letter or _, at most 128)"
            ],
            id="bad-step-id",
        ),
    ],
)
def test_structural_problems_are_reported_at_their_path(raw: Any, expected: list[str]) -> None:
    assert problems(raw) == expected


@pytest.mark.parametrize(
    ("triggers", "expected"),
    [
        (
            {"trigger": {"type": "manual"}, "triggers": [{"type": "manual"}]},
            ["trigger: give either 'trigger' or 'triggers', not both"],
        ),
        (
            {"trigger": {"type": "email"}},
            [
                "trigger.type: unknown trigger type 'email' "
                "(expected one of: manual, webhook, schedule, event)"
            ],
        ),
        ({"trigger": 7}, ["trigger: expected an object, got a number"]),
        ({"triggers": []}, ["triggers: expected a non-empty array of triggers"]),
        (
            {"triggers": [{"type": "webhook", "path": "in"}, {"type": "webhook", "path": "in"}]},
            ["triggers[1].path: webhook path 'in' is listed twice"],
        ),
        (
            {"trigger": {"type": "webhook", "path": "gh", "signature": "github"}},
            ["trigger.signature: a 'github' signature needs the webhook's 'secret'"],
        ),
        (
            {"trigger": {"type": "webhook", "path": "/in"}},
            ["trigger.path: '/in' is not a valid webhook path"],
        ),
        (
            {"trigger": {"type": "schedule", "cron": "0 9 * *"}},
            [
                "trigger.cron: '0 9 * *' is not a cron expression: "
                "expected 5 fields (minute hour day month weekday)"
            ],
        ),
        (
            {"triggers": [{"type": "schedule", "cron": "0 9 * * 1", "timezone": "Paris"}]},
            [
                "triggers[0].timezone: unknown time zone 'Paris' "
                "(use an IANA name like 'Europe/Paris')"
            ],
        ),
        (
            {"trigger": {"type": "schedule", "cron": "0 0 31 4 *"}},
            ["trigger.cron: '0 0 31 4 *' never fires: no date matches it"],
        ),
        (
            {
                "triggers": [
                    {"type": "schedule", "cron": "0 9 * * 1"},
                    {"type": "schedule", "cron": "0 9 * * 1", "overlap": "allow"},
                ]
            },
            ["triggers[1]: this schedule (cron and timezone) is listed twice"],
        ),
        (
            {"triggers": [{"type": "manual"}, {"type": "schedule", "cron": "* * * * *", "x": 1}]},
            ["triggers[1].x: unknown field"],
        ),
    ],
)
def test_triggers_are_checked(triggers: dict[str, Any], expected: list[str]) -> None:
    assert problems(workflow(**triggers)) == expected


def test_one_definition_reports_all_of_its_problems_at_once() -> None:
    raw = {
        "name": "broken",
        "colour": "red",
        "triggers": [
            {"type": "webhook", "path": "orders"},
            {"type": "webhook", "path": "orders"},
            {"type": "schedule", "cron": "every day"},
        ],
        "steps": [
            task("fetch", retry={"max_attempts": 0}, timeout=-5, catch=[{"next": "nowhere"}]),
            {"id": "fetch", "type": "succeed"},
            {"id": "pause", "type": "wait"},
            {"id": "jump", "type": "teleport"},
            task("say", action="shout", params={"message": "hi {{ input.name "}),
        ],
    }

    with pytest.raises(InvalidDefinition) as refused:
        parse_definition(raw, known_actions={"log"})

    expected = [
        "triggers[1].path: webhook path 'orders' is listed twice",
        "triggers[2].cron: 'every day' is not a cron expression: "
        "expected 5 fields (minute hour day month weekday)",
        "steps[3].type: unknown step type 'teleport' "
        "(expected one of: task, choice, wait, succeed, fail, parallel, map, workflow, "
        "await)",
        "steps[1].id: duplicate step id 'fetch' (first at steps[0])",
        "steps[0].catch[0].next: unknown step 'nowhere'",
        "steps[0].retry.max_attempts: must be between 1 and 100",
        "steps[0].timeout: must be more than 0 and at most 31622400 seconds",
        "steps[2]: a wait step needs exactly one of 'seconds' or 'until'",
        "steps[4].action: unknown action 'shout' (known: log)",
        "steps[4].params.message: '{{' is never closed by '}}'",
        "colour: unknown field",
    ]
    assert [str(problem) for problem in refused.value.problems] == expected
    assert str(refused.value) == "invalid definition (11 problems): " + "; ".join(expected)
