"""Parallel, map and workflow steps: an attempt that runs child runs and joins their ends.

Each branch, iteration or sub-workflow is a run of its own, with its own history, version
and timers: what it does never touches its parent, so many of them progress at once on many
workers without fighting over one version. The parent keeps only counts (``run.Fan``) and
learns of each child's end by an ``EndChild`` decided in the child's last transaction. When
every child has ended it asks for their outputs (``Decision.collect``) and is handed them
back as a ``Join``, which ends the step. Children are created when the attempt opens
(``Spawn``, pending) and started in index order as running ones end, at most ``limit`` at
once; their ids derive from the parent's run, step, attempt and index, so a repeated
decision can never start a child twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from wfa.domain.children import (
    FanRef,
    child_run_id,
    joined_output,
    spawns_for,
    step_error,
)
from wfa.domain.commands import EndChild, Join
from wfa.domain.definition import (
    FanStep,
    MapStep,
    ParallelStep,
    WorkflowStep,
)
from wfa.domain.errors import ExpressionError, ExpressionTooCostly
from wfa.domain.events import (
    AttemptSucceeded,
    ChildEnded,
    ChildrenStarted,
    ErrorInfo,
    FanOpened,
)
from wfa.domain.expressions import render
from wfa.domain.run import Fan

if TYPE_CHECKING:
    from wfa.domain.progress import Progress

TOO_DEEP = "workflow.too_deep"
TOO_MANY_ITEMS = "map.too_many_items"
TOO_MANY_RUNS = "fan.too_many_runs"
ITEMS_INVALID = "map.items_invalid"


def open_fan(progress: Progress, step: FanStep, number: int) -> None:
    """The step's attempt is due: create its children and start the first of them."""
    run = progress.run
    if run.depth + 1 > progress.settings.max_depth:
        message = (
            f"runs may nest {progress.settings.max_depth} deep at most (WFA_MAX_DEPTH); "
            "a workflow that calls itself must stop somewhere"
        )
        _refuse(progress, TOO_DEEP, message)
        return
    try:
        context = run.context()
        child_input = run.input if step.input is None else _render(progress, step.input, context)
        items = _items(progress, step, context) if isinstance(step, MapStep) else None
    except _Refused as refused:
        _refuse(progress, refused.error, refused.message)
        return
    spawns = spawns_for(progress, step, number, child_input, items)
    allowed = run.run_budget if run.run_budget is not None else progress.settings.max_family_runs
    if len(spawns) > allowed:
        message = (
            f"{len(spawns):,} child runs; this run may have {allowed:,} under it "
            "(WFA_MAX_FAMILY_RUNS, shared evenly among the children of each level)"
        )
        _refuse(progress, TOO_MANY_RUNS, message)
        return
    share = (allowed - len(spawns)) // max(len(spawns), 1)
    reuse = number - 1 if progress.resuming == step.id and number > 1 else None
    spawns = [
        msgspec.structs.replace(spawn, run_budget=share, reuse_attempt=reuse) for spawn in spawns
    ]
    if not spawns:  # a map over an empty list: nothing to wait for
        progress.record(AttemptSucceeded, step_id=step.id, attempt=number, output=[])
        progress.go_to(progress.definition.following(step))
        return
    limit, tolerated = len(spawns), 0
    if isinstance(step, MapStep):
        limit, tolerated = min(step.max_concurrency, len(spawns)), step.tolerated(len(spawns))
    elif isinstance(step, ParallelStep) and step.on_branch_failure == "continue":
        tolerated = -1
    progress.record(
        FanOpened,
        step_id=step.id,
        attempt=number,
        total=len(spawns),
        limit=limit,
        tolerated=tolerated,
    )
    progress.spawns.extend(spawns)
    _start_more(progress)


def end_child(progress: Progress, command: EndChild) -> None:
    """A child of the current fan ended: count it, then fail the step, start more or join."""
    fan = _fan_of(progress, command)
    if fan is None or not 0 <= command.index < fan.started:
        return
    progress.record(
        ChildEnded,
        step_id=command.step_id,
        attempt=command.attempt,
        index=command.index,
        error=command.error,
    )
    fan = progress.run.fan
    assert fan is not None
    step = progress.definition.step(fan.step_id)
    if command.error is not None and fan.tolerated >= 0 and fan.failed > fan.tolerated:
        progress.attempt_failed(
            step_error(step, fan.failed, command.error), command.random_fraction
        )
        return
    if fan.started < fan.total:
        _start_more(progress)
    elif fan.ended == fan.total:
        progress.collect = FanRef(fan.step_id, fan.attempt)


def join(progress: Progress, command: Join) -> None:
    """Every child ended (or a detached sub-workflow started): the step's output, then on."""
    fan = _fan_of(progress, command)
    if fan is None:
        return
    if command.error is not None:  # the outputs, or the children, could not be kept
        progress.attempt_failed(command.error, 0.0)
        return
    step = progress.definition.step(fan.step_id)
    detached = isinstance(step, WorkflowStep) and not step.wait
    if not detached and fan.ended < fan.total:
        return
    if len(command.outputs) != fan.total or len(command.errors) != fan.total:
        raise ValueError("a join hands back one output and one error per child")
    output, failures = joined_output(step, command)
    progress.record(
        AttemptSucceeded,
        step_id=step.id,
        attempt=fan.attempt,
        output=output,
        errors=failures or None,
    )
    assert isinstance(step, ParallelStep | MapStep | WorkflowStep)
    progress.go_to(progress.definition.following(step))


def _fan_of(progress: Progress, command: EndChild | Join) -> Fan | None:
    """The run's current fan, if the command is about it; None when the step moved on
    (failed, cancelled, retried): what the command reports no longer counts."""
    fan = progress.run.fan
    if fan is None or (fan.step_id, fan.attempt) != (command.step_id, command.attempt):
        return None
    return fan


class _Refused(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error, self.message = error, message


def _refuse(progress: Progress, error: str, message: str) -> None:
    progress.attempt_failed(ErrorInfo(error=error, message=message, retryable=False), 0.0)


def _render(progress: Progress, template: Any, context: dict[str, Any]) -> Any:
    try:
        return render(template, context, budget=progress.costs)
    except ExpressionTooCostly as error:
        raise _Refused(error.code, str(error)) from None
    except ExpressionError as error:
        raise _Refused("expression.error", str(error)) from None


def _items(progress: Progress, step: MapStep, context: dict[str, Any]) -> list[Any]:
    items = _render(progress, step.items, context)
    if not isinstance(items, list):
        kind = "null" if items is None else type(items).__name__
        raise _Refused(ITEMS_INVALID, f"'items' must yield a list, got {kind}")
    most = progress.settings.max_map_items
    if len(items) > most:
        message = f"{len(items):,} items; a map runs over {most:,} at most (WFA_MAX_MAP_ITEMS)"
        raise _Refused(TOO_MANY_ITEMS, message)
    return items


def _start_more(progress: Progress) -> None:
    fan = progress.run.fan
    assert fan is not None
    upto = min(fan.total, fan.started + fan.limit - fan.running)
    if upto <= fan.started:
        return
    first = fan.started
    progress.record(ChildrenStarted, step_id=fan.step_id, attempt=fan.attempt, upto=upto)
    run_id = progress.run.id
    progress.starts.extend(
        child_run_id(run_id, fan.step_id, fan.attempt, i) for i in range(first, upto)
    )
