"""noop, log, set and fail as a workflow sees them: outputs, logs, errors, and their params."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from wfa.domain.errors import InvalidDefinition
from wfa.domain.run import AttemptStatus, RunStatus
from wfa.entrypoints.local import LocalEngine


def one(action: str, params: Any = None, **fields: Any) -> dict[str, Any]:
    step = {"id": "step", "type": "task", "action": action, "params": params or {}, **fields}
    return {"name": action, "steps": [step]}


async def run(raw: dict[str, Any], input: Any = None) -> Any:
    return await LocalEngine.virtual().run_once(raw, input=input)


async def test_noop_does_nothing_and_ignores_any_params():
    details = await run(one("noop", {"note": "anything goes"}))
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output is None


async def test_log_logs_the_message_at_its_level_and_returns_it(caplog):
    caplog.set_level(logging.DEBUG, logger="wfa.actions")
    details = await run(one("log", {"message": "hi {{ input }}", "level": "warning"}), "Ada")
    assert details.run.output == {"message": "hi Ada"}
    (record,) = [r for r in caplog.records if r.name == "wfa.actions"]
    assert (record.levelname, record.getMessage()) == ("WARNING", "hi Ada")
    assert record.step_id == "step"


async def test_log_takes_any_value_as_its_message_and_info_by_default(caplog):
    caplog.set_level(logging.DEBUG, logger="wfa.actions")
    details = await run(one("log", {"message": "{{ input }}"}), {"n": 1})
    assert details.run.output == {"message": {"n": 1}}
    (record,) = [r for r in caplog.records if r.name == "wfa.actions"]
    assert (record.levelname, record.getMessage()) == ("INFO", "{'n': 1}")


async def test_set_outputs_its_rendered_params():
    params = {"order": "{{ input.id }}", "label": "order {{ input.id }}", "fixed": [1, True]}
    details = await run(one("set", params), {"id": 7})
    assert details.run.output == {"order": 7, "label": "order 7", "fixed": [1, True]}


async def test_fail_raises_its_named_error():
    params = {"error": "upstream.busy", "message": "try later", "retryable": False}
    details = await run(one("fail", params, retry={"max_attempts": 3}))
    (attempt,) = details.attempts
    assert attempt.error is not None
    assert (attempt.error.error, attempt.error.message, attempt.error.retryable) == (
        "upstream.busy",
        "try later",
        False,
    )


async def test_fail_is_named_failed_and_retryable_by_default():
    details = await run(one("fail", retry={"max_attempts": 2, "initial_interval": 0}))
    errors = [(a.error.error, a.error.retryable) for a in details.attempts if a.error]
    assert errors == [("Failed", True), ("Failed", True)]


async def test_fail_with_attempts_fails_only_the_first_tries_of_a_visit():
    raw = one("fail", {"attempts": 2}, retry={"max_attempts": 3, "initial_interval": 1})
    details = await run(raw)
    assert [a.status for a in details.attempts] == [
        AttemptStatus.FAILED,
        AttemptStatus.FAILED,
        AttemptStatus.SUCCEEDED,
    ]
    assert details.run.output == {"succeeded_on_try": 3}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (one("log", {"message": "x", "level": "error"}), "steps[0].params.level: expected one of"),
        (one("log", {"text": "x"}), "steps[0].params.text: unknown field"),
        (one("fail", {"attempts": -1}), "steps[0].params.attempts: expected an integer >= 0"),
        (one("fail", {"retryable": "no"}), "steps[0].params.retryable: expected a boolean"),
        (one("fail", {"error": ""}), "steps[0].params.error: expected a string of length >= 1"),
        (one("sleep", {"seconds": "{{ input.s }}s"}), "steps[0].params.seconds: expected a"),
    ],
)
async def test_params_that_do_not_fit_are_refused_at_registration(raw, problem):
    with pytest.raises(InvalidDefinition) as refused:
        await LocalEngine.virtual().add_workflow(raw)
    assert str(refused.value.problems[0]).startswith(problem)
