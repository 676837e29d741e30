"""A workflow named by its id, or by its name when exactly one live workflow has that name."""

from __future__ import annotations

from wfa.application.errors import AmbiguousWorkflow
from wfa.application.ports.repositories import UnitOfWork
from wfa.domain.workflow import Workflow


async def find_workflow(
    uow: UnitOfWork, id_or_name: str, version: int | None = None
) -> Workflow | None:
    """The latest version (or ``version``) of the workflow with this id, else of the one live
    workflow with this name; None when there is none. AmbiguousWorkflow when several live
    workflows have the name (ids win over names: an id never changes meaning)."""
    workflow = await uow.workflows.get(id_or_name)
    if workflow is None:
        named = await uow.workflows.by_name(id_or_name, limit=3)
        if len(named) > 1:
            raise AmbiguousWorkflow(id_or_name, [w.id for w in named])
        workflow = named[0] if named else None
    if workflow is not None and version is not None:
        return await uow.workflows.get(workflow.id, version)
    return workflow
