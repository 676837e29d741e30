"""The console's pages: workflows, a workflow, runs, a run (live), secrets, API keys.

Each page calls the same use cases the API does, with the signed-in key's scope deciding
what it shows: a viewer reads, an operator also starts, cancels, retries and signals, an
admin also manages secrets and keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from wfa.application.errors import NotFound
from wfa.application.ports.repositories import RunFilter
from wfa.application.use_cases.api_keys import ListApiKeys
from wfa.application.use_cases.queries import ListRuns
from wfa.application.use_cases.secrets import ListSecrets
from wfa.application.use_cases.workflows import GetWorkflow, ListSchedules, ListWorkflows
from wfa.domain.api_keys import Scope
from wfa.domain.definition import EventTrigger, ScheduleTrigger, Trigger, WebhookTrigger
from wfa.domain.run import Run, RunStatus
from wfa.domain.workflow import Workflow
from wfa.entrypoints.http.console.graph_svg import MAX_GRAPH_STEPS, drawing
from wfa.entrypoints.http.console.session import Viewer, require
from wfa.entrypoints.http.params import MAX_SEQ
from wfa.entrypoints.http.runs import run_status
from wfa.entrypoints.http.schemas import workflow_out

PAGE = 25  # rows a list page shows
GLANCE = 10  # a workflow's last runs on the workflows page
Cursor = Annotated[str | None, QueryParameter(max_length=256)]
Filter = Annotated[str | None, QueryParameter(max_length=256)]
Done = Annotated[str | None, QueryParameter(max_length=32)]
Version = Annotated[int | None, QueryParameter(ge=1, le=MAX_SEQ)]
# The runs page's time filter: runs created in the last ...
SINCE = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
SINCE_NAMES = {"1h": "the last hour", "24h": "the last 24 hours", "7d": "the last 7 days"}
# What a redirect after a form says it did (a fixed text per code: nothing from the URL).
NOTICES = {
    "started": "Run started.",
    "cancelled": "Run cancelled.",
    "retried": "Run resumed from its failed step.",
    "signalled": "Signal delivered.",
    "secret-set": "Secret stored.",
    "secret-deleted": "Secret deleted.",
    "key-revoked": "API key revoked.",
}


def page(name: str, viewer: Viewer, section: str, **context: Any) -> Template:
    notice = NOTICES.get(context.pop("done", None) or "")
    base = {"viewer": viewer, "section": section, "notice": notice, "statuses": list(RunStatus)}
    return Template(name, context=base | context)


async def workflow_names(runs: Sequence[Run], get_workflow: GetWorkflow) -> dict[str, str]:
    """The names of the workflows of the runs on a page (at most a page of lookups)."""
    names: dict[str, str] = {}
    for run in runs:
        if run.workflow_id not in names:
            with contextlib.suppress(NotFound):
                found = await get_workflow.of_run(run.workflow_id, run.workflow_version)
                names[run.workflow_id] = found.name
    return names


def trigger_text(trigger: Trigger) -> str:
    if isinstance(trigger, WebhookTrigger):
        return f"webhook /hooks/{trigger.path}"
    if isinstance(trigger, ScheduleTrigger):
        return f"schedule {trigger.cron}" + (
            f" ({trigger.timezone})" if trigger.timezone != "UTC" else ""
        )
    if isinstance(trigger, EventTrigger):
        return f"event {trigger.name}"
    return "manual"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@get("/ui", media_type=MediaType.HTML, include_in_schema=False)
async def workflows_page(
    viewer: NamedDependency[Viewer],
    list_workflows: NamedDependency[ListWorkflows],
    list_schedules: NamedDependency[ListSchedules],
    list_runs: NamedDependency[ListRuns],
    cursor: Cursor = None,
    done: Done = None,
) -> Template:
    found = await list_workflows.execute(PAGE + 1, cursor)
    shown = found[:PAGE]

    async def row(workflow: Workflow) -> dict[str, Any]:
        schedules, runs = await asyncio.gather(
            list_schedules.execute(workflow.id),
            list_runs.execute(RunFilter(workflow_id=workflow.id), GLANCE),
        )
        return {
            "workflow": workflow,
            "triggers": [trigger_text(t) for t in workflow.definition.triggers],
            "next_fire": min((s.next_fire_at for s in schedules), default=None),
            "runs": runs.runs,
        }

    # One at a time: the embedded database serves one connection, and a page is 25 rows.
    rows = [await row(workflow) for workflow in shown]
    more = shown[-1].id if len(found) > PAGE and shown else None
    return page("workflows.html", viewer, "workflows", rows=rows, next_cursor=more, done=done)


@get("/ui/workflows/{workflow_id:str}", media_type=MediaType.HTML, include_in_schema=False)
async def workflow_page(
    workflow_id: FromPath[str],
    viewer: NamedDependency[Viewer],
    get_workflow: NamedDependency[GetWorkflow],
    list_schedules: NamedDependency[ListSchedules],
    list_runs: NamedDependency[ListRuns],
    version: Version = None,
    done: Done = None,
) -> Template:
    latest = await get_workflow.execute(workflow_id)
    shown = latest if version is None else await get_workflow.execute(latest.id, version)
    schedules = await list_schedules.execute(latest.id)
    runs = await list_runs.execute(RunFilter(workflow_id=latest.id), PAGE)
    definition = workflow_out(shown).definition
    title = f"The steps of {shown.name}, version {shown.version}"
    graph = drawing(shown.definition.steps, {}, title)
    return page(
        "workflow.html",
        viewer,
        "workflows",
        workflow=shown,
        latest=latest,
        versions=list(range(latest.version, max(latest.version - 20, 0), -1)),
        triggers=[trigger_text(t) for t in shown.definition.triggers],
        schedules=schedules,
        runs=runs.runs,
        graph=graph,
        graph_limit=MAX_GRAPH_STEPS,
        definition=pretty(definition),
        form_key=secrets.token_urlsafe(18),
        done=done,
    )


@get("/ui/runs", media_type=MediaType.HTML, include_in_schema=False)
async def runs_page(
    viewer: NamedDependency[Viewer],
    list_runs: NamedDependency[ListRuns],
    get_workflow: NamedDependency[GetWorkflow],
    workflow: Filter = None,
    status: Filter = None,
    since: Filter = None,
    cursor: Cursor = None,
) -> Template:
    if since and since not in SINCE:
        raise ValidationException(f"unknown period {since!r} (one of: {', '.join(SINCE)})")
    created_after = datetime.now(UTC) - SINCE[since] if since else None
    workflow_id = workflow.strip() if workflow else None
    if workflow_id:
        # A name works as in the API; a deleted workflow's runs are still found by its id.
        with contextlib.suppress(NotFound):
            workflow_id = (await get_workflow.execute(workflow_id)).id
    where = RunFilter(
        workflow_id=workflow_id, status=run_status(status or None), created_after=created_after
    )
    found = await list_runs.execute(where, PAGE, cursor)
    return page(
        "runs.html",
        viewer,
        "runs",
        runs=found.runs,
        names=await workflow_names(found.runs, get_workflow),
        next_cursor=found.next_cursor,
        workflow=workflow or "",
        status=status or "",
        since=since or "",
        periods=SINCE_NAMES,
    )


@get("/ui/secrets", media_type=MediaType.HTML, include_in_schema=False)
async def secrets_page(
    viewer: NamedDependency[Viewer], list_secrets: NamedDependency[ListSecrets], done: Done = None
) -> Template:
    require(viewer, Scope.ADMIN)
    return page("secrets.html", viewer, "secrets", secrets=await list_secrets.execute(), done=done)


@get("/ui/keys", media_type=MediaType.HTML, include_in_schema=False)
async def keys_page(
    viewer: NamedDependency[Viewer], list_api_keys: NamedDependency[ListApiKeys], done: Done = None
) -> Template:
    require(viewer, Scope.ADMIN)
    return page("keys.html", viewer, "keys", keys=await list_api_keys.execute(), done=done)
