"""Parallel, map and workflow steps: decoded recursively, every problem at its own path."""

from __future__ import annotations

from typing import Any

import pytest

from wfa.domain.definition import MapStep, ParallelStep, WorkflowStep
from wfa.domain.errors import InvalidDefinition
from wfa.domain.limits import DefinitionLimits
from wfa.domain.validation import parse_definition


def task(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "task", "action": "noop", **extra}


def problems(raw: dict[str, Any], limits: DefinitionLimits | None = None) -> list[str]:
    with pytest.raises(InvalidDefinition) as refused:
        parse_definition(raw, limits=limits or DefinitionLimits())
    return [str(problem) for problem in refused.value.problems]


def test_nested_lists_are_decoded_with_ids_scoped_to_their_branch():
    definition = parse_definition(
        {
            "name": "nested",
            "steps": [
                {
                    "id": "both",
                    "type": "parallel",
                    "branches": [
                        {"name": "a", "steps": [task("fetch")]},
                        {
                            "name": "b",
                            "steps": [
                                task("fetch"),
                                {
                                    "id": "each",
                                    "type": "map",
                                    "items": "{{ steps.fetch.output }}",
                                    "steps": [task("fetch")],
                                },
                            ],
                        },
                    ],
                },
                {"id": "call", "type": "workflow", "workflow": "other", "wait": False},
            ],
        }
    )
    both, call = definition.steps
    assert isinstance(both, ParallelStep)
    assert isinstance(call, WorkflowStep)
    inner = definition.scoped("both/b/each")
    assert [step.id for step in inner.steps] == ["fetch"]
    assert isinstance(definition.scoped("both/b").steps[1], MapStep)
    assert both.retry.max_attempts == 1  # a fan step is not retried unless asked


def test_problems_inside_branches_and_map_steps_name_their_whole_path():
    raw = {
        "name": "bad",
        "steps": [
            {
                "id": "both",
                "type": "parallel",
                "branches": [
                    {"name": "a", "steps": [task("x", next="nowhere")]},
                    {"name": "a", "steps": [task("y", retry={"max_attempts": 0})]},
                    {"name": "no good", "steps": []},
                ],
            },
            {
                "id": "each",
                "type": "map",
                "items": "input.list",
                "max_concurrency": 0,
                "tolerated_failures": "110%",
                "steps": [task("z", colour="red")],
            },
            {"id": "sub", "type": "workflow", "workflow": " ", "version": 0},
        ],
    }
    assert problems(raw) == [
        "steps[0].branches[0].steps[0].next: unknown step 'nowhere'",
        "steps[0].branches[1].steps[0].retry.max_attempts: must be between 1 and 100",
        "steps[0].branches[1].name: duplicate branch name 'a' (first at branches[0])",
        "steps[0].branches[2].steps: this list needs a non-empty array of steps",
        "steps[0].branches[2].name: 'no good' is not a valid branch name "
        "(letters, digits, _ and -, starting with a letter or _, at most 128)",
        "steps[1].steps[0].colour: unknown field",
        "steps[1].items: must be one template that yields a list, like '{{ input.orders }}'",
        "steps[1].max_concurrency: must be between 1 and 1,000 (WFA_MAX_MAP_CONCURRENCY)",
        "steps[1].tolerated_failures: must be a count (3) or a percentage from 0% to 100% ('10%')",
        "steps[2].workflow: must name a workflow (its id or its name)",
        "steps[2].version: must be between 1 and 2147483647",
    ]


def test_links_cannot_leave_their_list_and_every_list_must_be_able_to_end():
    raw = {
        "name": "leaky",
        "steps": [
            task("outer"),
            {
                "id": "each",
                "type": "map",
                "items": "{{ input }}",
                "steps": [
                    task("inner", next="outer"),
                    {
                        "id": "spin",
                        "type": "choice",
                        "choices": [{"when": "@", "next": "spin"}],
                        "default": "spin",
                    },
                ],
            },
        ],
    }
    assert problems(raw) == [
        "steps[1].steps[0].next: unknown step 'outer'",
    ]


def test_steps_of_every_list_count_against_the_step_limit_and_branches_have_their_own():
    many = {
        "name": "many",
        "steps": [
            {
                "id": "p",
                "type": "parallel",
                "branches": [{"name": f"b{i}", "steps": [task("t")]} for i in range(4)],
            },
        ],
    }
    assert problems(many, DefinitionLimits(max_steps=4)) == [
        "steps[0].branches[3].steps: 5 steps in all; at most 4 are allowed (WFA_MAX_STEPS)"
    ]
    assert problems(many, DefinitionLimits(max_branches=3)) == [
        "steps[0].branches: 4 branches; at most 3 are allowed (WFA_MAX_BRANCHES)"
    ]


def test_items_and_input_may_not_read_secrets():
    raw = {
        "name": "leak",
        "steps": [
            {
                "id": "each",
                "type": "map",
                "items": "{{ secrets.LIST }}",
                "steps": [task("t")],
                "input": {"k": "{{ secrets.KEY }}"},
            },
        ],
    }
    found = problems(raw)
    assert [problem.split(":")[0] for problem in found] == ["steps[0].input.k", "steps[0].items"]
