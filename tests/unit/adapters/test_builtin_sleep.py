"""The ``sleep`` built-in action: a slow step for tests and demos."""

from __future__ import annotations

import pytest

from wfa.adapters.actions.builtin import Sleep
from wfa.application.ports.actions import ActionContext
from wfa.domain.errors import InvalidDefinition
from wfa.domain.params import convert_params
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine

CONTEXT = ActionContext(run_id="r", workflow_id="w", step_id="s", attempt=1, try_number=1)
BAD = [-1, "1", True, None, 3601]


def napping(seconds: object) -> dict[str, object]:
    nap = {"id": "nap", "type": "task", "action": "sleep", "params": {"seconds": seconds}}
    return {"name": "nap", "steps": [nap]}


@pytest.mark.parametrize("seconds", [0.01, 0])
async def test_it_sleeps_then_says_how_long(seconds):
    params = convert_params({"seconds": seconds}, Sleep.params_type)
    output = await Sleep()(params, CONTEXT)
    assert output == {"slept": seconds}
    assert type(output["slept"]) is type(seconds)  # 0 stays 0, not 0.0


@pytest.mark.parametrize("seconds", BAD)
async def test_a_bad_duration_is_refused_when_the_workflow_is_registered(seconds):
    with pytest.raises(InvalidDefinition, match=r"steps\[0\]\.params\.seconds: expected"):
        await LocalEngine.virtual().add_workflow(napping(seconds))


@pytest.mark.parametrize("seconds", BAD)
async def test_a_bad_duration_from_a_template_is_refused_for_good(seconds):
    raw = napping("{{ input.seconds }}")
    raw["steps"][0]["retry"] = {"max_attempts": 3}
    details = await LocalEngine.virtual().run_once(raw, input={"seconds": seconds})
    assert details.run.status is RunStatus.FAILED
    (attempt,) = details.attempts
    assert attempt.error is not None
    assert (attempt.error.error, attempt.error.retryable) == ("params.invalid", False)
    assert attempt.error.message.startswith("params.seconds: expected")
