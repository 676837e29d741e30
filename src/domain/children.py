"""A fan's children: their ids, what each is created with, their joined outputs and errors.

Pure helpers of ``fan_out``: nothing here records an event.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

import msgspec

from wfa.domain.commands import Join
from wfa.domain.definition import FanStep, MapStep, ParallelStep, WorkflowStep, child_scope
from wfa.domain.events import ErrorInfo, ParentLink

if TYPE_CHECKING:
    from wfa.domain.progress import Progress

TOO_MANY_FAILURES = "map.too_many_failures"
CHILD_FAILED = "workflow.failed"
MAX_CAUSES = 10  # errors kept in a chain of causes; a recursion's middle ones are dropped
UNSTARTED = frozenset({"workflow.not_found", "workflow.ambiguous"})
"""Errors of a workflow step whose child could not be created: the step's own, not a cause."""


class Spawn(msgspec.Struct, frozen=True, kw_only=True):
    """A child run to create (pending) in the same transaction as the decision.

    Branches and iterations follow ``scope`` of the parent's workflow version; a workflow
    step's child follows ``workflow`` (an id or a name), its latest version or ``version``.
    """

    run_id: str
    parent: ParentLink
    input: Any = None
    item: Any = None
    scope: str | None = None
    run_budget: int | None = 0  # runs it may create under it in turn; None: a root's
    workflow: str | None = None
    version: int | None = None
    # A run resumed at this step: a child whose place succeeded in this earlier attempt (with
    # the same item) is not run again; it ends at once with the output it had.
    reuse_attempt: int | None = None


class FanRef(msgspec.Struct, frozen=True, array_like=True):
    """The children of one attempt of one step of a run."""

    step_id: str
    attempt: int


def child_run_id(run_id: str, step_id: str, attempt: int, index: int) -> str:
    """The id of a child: the same place in the same attempt always names the same run.

    A UUID (version 8) whose first 48 bits are its parent's (the creation time of a
    time-ordered id), so children sort with their parent; the rest is a hash of the place.
    """
    digest = hashlib.blake2b(f"{run_id}/{step_id}/{attempt}/{index}".encode(), digest_size=10)
    try:
        prefix = uuid.UUID(run_id).bytes[:6]
    except ValueError:
        prefix = bytes(6)
    value = int.from_bytes(prefix + digest.digest(), "big")
    value = (value & ~(0xF << 76)) | (0x8 << 76)  # version 8: custom
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # the RFC 9562 variant
    return str(uuid.UUID(int=value))


def spawns_for(
    progress: Progress, step: FanStep, number: int, child_input: Any, items: list[Any] | None
) -> list[Spawn]:
    run = progress.run

    def link(index: int, kind: str, wait: bool = True) -> ParentLink:
        return ParentLink(
            run_id=run.id, step_id=step.id, attempt=number, index=index, kind=kind, wait=wait
        )

    def run_id(index: int) -> str:
        return child_run_id(run.id, step.id, number, index)

    if isinstance(step, ParallelStep):
        return [
            Spawn(
                run_id=run_id(i),
                parent=link(i, "branch"),
                input=child_input,
                scope=child_scope(run.scope, step, branch.name),
            )
            for i, branch in enumerate(step.branches)
        ]
    if isinstance(step, MapStep):
        assert items is not None
        scope = child_scope(run.scope, step)
        # Each iteration keeps its own copy: not the parent's input unless the step says so.
        child_input = None if step.input is None else child_input
        return [
            Spawn(
                run_id=run_id(i),
                parent=link(i, "iteration"),
                input=child_input,
                item=item,
                scope=scope,
            )
            for i, item in enumerate(items)
        ]
    child_input = None if step.input is None else child_input  # not the parent's by default
    return [
        Spawn(
            run_id=run_id(0),
            parent=link(0, "workflow", wait=step.wait),
            input=child_input,
            workflow=step.workflow,
            version=step.version,
        )
    ]


def step_error(step: Any, failed: int, error: ErrorInfo) -> ErrorInfo:
    """The step's error when a child failed beyond what it tolerates."""
    if isinstance(step, MapStep):
        message = f"{failed} iteration(s) failed, more than the step tolerates"
        return ErrorInfo(error=TOO_MANY_FAILURES, message=message, cause=bounded_causes(error))
    if isinstance(step, WorkflowStep) and error.error not in UNSTARTED:
        message = f"the workflow {step.workflow!r} failed: {error.error}"
        return ErrorInfo(error=CHILD_FAILED, message=message, cause=bounded_causes(error))
    return error


def bounded_causes(error: ErrorInfo, keep: int = MAX_CAUSES) -> ErrorInfo:
    """``error`` with at most ``keep`` errors in its chain of causes, the innermost (the
    root cause) always among them: a workflow that calls itself to WFA_MAX_DEPTH would
    otherwise nest its errors that deep."""
    chain = [error]
    while chain[-1].cause is not None:
        chain.append(chain[-1].cause)
    if len(chain) <= keep:
        return error
    kept = [*chain[: keep - 1], chain[-1]]
    bounded = kept[-1]
    for outer in reversed(kept[:-1]):
        bounded = msgspec.structs.replace(outer, cause=bounded)
    return bounded


def joined_output(step: Any, command: Join) -> tuple[Any, list[Any]]:
    if isinstance(step, ParallelStep):
        output = {
            branch.name: (
                command.outputs[i]
                if command.errors[i] is None
                else {"error": msgspec.to_builtins(command.errors[i])}
            )
            for i, branch in enumerate(step.branches)
        }
        return output, []
    if isinstance(step, MapStep):
        failures = [
            {"index": i, **msgspec.to_builtins(error)}
            for i, error in enumerate(command.errors)
            if error is not None
        ]
        return list(command.outputs), failures
    return command.outputs[0], []
