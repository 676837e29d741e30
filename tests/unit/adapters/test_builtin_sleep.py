"""The ``sleep`` built-in action: a slow step for tests and demos."""

from __future__ import annotations

import pytest

from wfa.adapters.actions.builtin import Sleep
from wfa.application.ports.actions import ActionContext, ActionError

CONTEXT = ActionContext(run_id="r", workflow_id="w", step_id="s", attempt=1, try_number=1)


async def test_it_sleeps_then_says_how_long():
    assert await Sleep()({"seconds": 0.01}, CONTEXT) == {"slept": 0.01}


@pytest.mark.parametrize("seconds", [-1, "1", True, None, 3601])
async def test_a_bad_duration_is_refused_for_good(seconds):
    with pytest.raises(ActionError) as refused:
        await Sleep()({"seconds": seconds}, CONTEXT)
    assert (refused.value.error, refused.value.retryable) == ("params.invalid", False)
