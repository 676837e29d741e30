"""Error workflows: a failed run starts its workflow's ``on_failure`` workflow, once per failure.

The start is part of the decision that failed the run (``Progress.decision``), stored in the
same transaction, and the new run's id derives from the failed run and its failure's ``seq``:
whatever is redelivered or decided again, one failure starts one run. A run an error
workflow started — or any run under it, a sub-workflow's included — does not start another
when it fails in turn, so workflows naming each other cannot chain failures for ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from wfa.domain.children import Spawn, child_run_id
from wfa.domain.definition import Definition
from wfa.domain.events import Event, ParentLink, RunFailed
from wfa.domain.run import Run, RunStatus

ON_FAILURE = "on_failure"
"""The trigger of a run an error workflow started, and its link's kind."""
_PLACE = "$on_failure"


def error_workflow_run(definition: Definition, run: Run, events: Sequence[Event]) -> Spawn | None:
    """The run to start when ``events`` failed ``run`` and its workflow names one."""
    wanted = definition.on_failure
    if wanted is None or run.status is not RunStatus.FAILED or run.handles_failure:
        return None
    failed = next((event for event in reversed(events) if isinstance(event, RunFailed)), None)
    if failed is None:
        return None
    step_id = failed.step_id or ""
    # ``attempt`` holds the failure's seq: a run failed, resumed and failed again starts two.
    link = ParentLink(
        run_id=run.id, step_id=step_id, attempt=failed.seq, index=0, kind=ON_FAILURE, wait=False
    )
    return Spawn(
        run_id=child_run_id(run.id, _PLACE, failed.seq, 0),
        parent=link,
        input=failure_input(definition, run, failed),
        workflow=wanted.workflow,
        version=wanted.version,
        run_budget=None,
    )


def failure_input(definition: Definition, run: Run, failed: RunFailed) -> dict[str, Any]:
    """What the error workflow is given: which run failed, where, with what, on what input."""
    return {
        "run_id": run.id,
        "workflow": definition.name,
        "workflow_id": run.workflow_id,
        "workflow_version": run.workflow_version,
        "failed_step": failed.step_id,
        "error": msgspec.to_builtins(failed.error),
        "input": run.input,
    }
