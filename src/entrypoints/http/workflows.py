"""Workflows: create, list, read, version, delete; and start a run of one."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.application.use_cases.workflows import (
    DeleteWorkflow,
    GetWorkflow,
    ListSchedules,
    ListWorkflows,
    RegisterWorkflow,
    UpdateWorkflow,
)
from wfa.domain.api_keys import Scope
from wfa.entrypoints.http.auth import needs
from wfa.entrypoints.http.body_hints import envelope
from wfa.entrypoints.http.definition_schema import definition_body_schema
from wfa.entrypoints.http.params import IdempotencyKey, Limit
from wfa.entrypoints.http.problems import responses
from wfa.entrypoints.http.schemas import (
    RunAccepted,
    ScheduleList,
    ScheduleOut,
    StartRunIn,
    WorkflowOut,
    WorkflowPage,
    workflow_out,
)
from wfa.entrypoints.http.strict_requests import accepts_yaml

Definition = Annotated[
    Any,
    Body(
        description="A workflow definition (see docs/definitions.md).",
        schema_extra=definition_body_schema(),
    ),
]
After = Annotated[
    str | None, QueryParameter(max_length=64, description="The last id of the previous page.")
]


class WorkflowController(Controller):
    path = "/api/v1/workflows"
    tags = ["workflows"]

    @post(
        "/",
        opt={**needs(Scope.OPERATOR), **accepts_yaml()},
        status_code=201,
        responses=responses(400, 401, 409, 413, 422),
    )
    async def create(
        self, data: Definition, register_workflow: NamedDependency[RegisterWorkflow]
    ) -> WorkflowOut:
        """Create a workflow from a definition (version 1)."""
        return workflow_out(await register_workflow.execute(data))

    @get("/", opt=needs(Scope.VIEWER), responses=responses(400, 401))
    async def list_workflows(
        self,
        list_workflows: NamedDependency[ListWorkflows],
        limit: Limit = 50,
        cursor: After = None,
        after: After = None,
    ) -> WorkflowPage:
        """The latest version of each workflow, by id, a page at a time: pass next_cursor
        back as cursor (``after`` is its older name)."""
        found = await list_workflows.execute(limit + 1, cursor if cursor is not None else after)
        page = [workflow_out(w) for w in found[:limit]]
        more = len(found) > limit
        return WorkflowPage(items=page, next_cursor=page[-1].id if more and page else None)

    @get("/{workflow_id:str}", opt=needs(Scope.VIEWER), responses=responses(400, 401, 404, 409))
    async def read(
        self, workflow_id: FromPath[str], get_workflow: NamedDependency[GetWorkflow]
    ) -> WorkflowOut:
        """One workflow at its latest version, by id, or by name when exactly one live
        workflow has that name (409 when several do)."""
        return workflow_out(await get_workflow.execute(workflow_id))

    @put(
        "/{workflow_id:str}",
        opt={**needs(Scope.OPERATOR), **accepts_yaml()},
        responses=responses(400, 401, 404, 409, 413, 422),
    )
    async def update(
        self,
        workflow_id: FromPath[str],
        data: Definition,
        update_workflow: NamedDependency[UpdateWorkflow],
    ) -> WorkflowOut:
        """Store a new version; runs already started keep the version they started on. The
        workflow is named by its id, or by its name when exactly one live workflow has it."""
        return workflow_out(await update_workflow.execute(workflow_id, data))

    @delete(
        "/{workflow_id:str}",
        opt=needs(Scope.OPERATOR),
        status_code=204,
        responses=responses(400, 401, 404, 409),
    )
    async def remove(
        self, workflow_id: FromPath[str], delete_workflow: NamedDependency[DeleteWorkflow]
    ) -> None:
        """Delete a workflow; its runs are kept. The workflow is named by its id, or by its
        name when exactly one live workflow has it (409 when several do)."""
        await delete_workflow.execute(workflow_id)

    @get(
        "/{workflow_id:str}/schedules", opt=needs(Scope.VIEWER), responses=responses(400, 401, 404)
    )
    async def schedules(
        self, workflow_id: FromPath[str], list_schedules: NamedDependency[ListSchedules]
    ) -> ScheduleList:
        """The workflow's schedule triggers: when each fires next, and what it fired last."""
        found = await list_schedules.execute(workflow_id)
        return ScheduleList(
            items=[
                ScheduleOut(
                    cron=s.cron,
                    timezone=s.timezone,
                    overlap=s.overlap,
                    next_fire_at=s.next_fire_at,
                    last_fire_at=s.last_fire_at,
                    last_run_id=s.last_run_id,
                    buffered_fire_at=s.buffered_fire_at,
                )
                for s in found
            ]
        )

    @post(
        "/{workflow_id:str}/runs",
        opt={**needs(Scope.OPERATOR), **envelope("input", "the run's input")},
        status_code=202,
        responses=responses(400, 401, 404, 409, 413, 422),
    )
    async def start(
        self,
        workflow_id: FromPath[str],
        start_run: NamedDependency[StartRun],
        idempotency_key: IdempotencyKey = None,
        data: JSONBody[StartRunIn | None] = None,
    ) -> RunAccepted:
        """Start a run with ``{"input": ...}``; an Idempotency-Key makes repeats safe. The
        workflow is named by its id, or by its name when exactly one live workflow has it."""
        request = StartRunRequest(
            workflow_id=workflow_id,
            input=None if data is None else data.input,
            trigger="manual",
            idempotency_key=idempotency_key,
        )
        started = await start_run.execute(request)
        return RunAccepted(run_id=started.run_id, created=started.created)
