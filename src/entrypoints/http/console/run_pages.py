"""A run's page, the part of it that changes, and the stream that says when it changed.

The page draws the run's definition coloured by what the run did, lists the child runs of
its parallel, map and workflow steps, and puts every attempt on one time axis. While the
run is not over, ``console.js`` follows ``/stream`` and fetches ``/live`` after events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import ServerSentEvent, ServerSentEventMessage, Template

from wfa.application.console_sessions import ConsoleSessions
from wfa.application.use_cases.follow_run import FollowRun
from wfa.application.use_cases.queries import GetRun, ListChildren
from wfa.application.use_cases.workflows import GetWorkflow
from wfa.domain.definition import MapStep, ParallelStep, Step, WorkflowStep
from wfa.domain.run import Run
from wfa.entrypoints.http.console.graph_svg import MAX_GRAPH_STEPS, drawing
from wfa.entrypoints.http.console.pages import Done, page, pretty, workflow_names
from wfa.entrypoints.http.console.session import COOKIE, Viewer
from wfa.entrypoints.http.console.timeline_bars import axis
from wfa.entrypoints.http.streaming import event_stream, while_allowed

CHILDREN_SHOWN = 50  # child runs listed per fan step; the API pages through the rest


def _states(run: Run, records: list[Any]) -> dict[str, str]:
    states = {record.step_id: str(record.status) for record in records}
    if run.current_step and run.current_step not in states and not run.status.is_terminal:
        states[run.current_step] = "running"
    if run.failed_step:
        states[run.failed_step] = "failed"
    return states


async def _run_context(
    run_id: str,
    get_run: GetRun,
    get_workflow: GetWorkflow,
    list_children: ListChildren | None = None,
) -> dict[str, Any]:
    """What the page shows; without ``list_children`` (the live part), no graph or children."""
    details = await get_run.execute(run_id)
    run = details.run
    workflow = await get_workflow.of_run(run.workflow_id, run.workflow_version)
    steps = workflow.definition.scoped(run.scope).steps if run.scope else workflow.definition.steps
    context: dict[str, Any] = {
        "run": run,
        "workflow": workflow,
        "timeline": axis(run, details.attempts, datetime.now(UTC)),
        "input": pretty(run.input),
        "output": pretty(run.output),
        "live": not run.status.is_terminal,
    }
    if list_children is not None:
        title = f"Where run {run.id} went in {workflow.name}"
        context["graph"] = drawing(steps, _states(run, details.attempts), title)
        context["graph_limit"] = MAX_GRAPH_STEPS
        context["children"] = children = await _children(run, steps, list_children)
        context["names"] = await workflow_names(
            [child for fan in children for child in fan["runs"]], get_workflow
        )
    return context


async def _children(
    run: Run, steps: tuple[Step, ...], list_children: ListChildren
) -> list[dict[str, Any]]:
    """Each fan step the run entered, with the runs its latest attempt started."""
    fans = [s for s in steps if isinstance(s, ParallelStep | MapStep | WorkflowStep)]
    found = []
    for step in fans:
        if not run.attempt_counts.get(step.id):
            continue
        listed = await list_children.execute(run.id, step.id, limit=CHILDREN_SHOWN)
        found.append({"step": step.id, "runs": listed.runs, "more": listed.next_index})
    return found


@get("/ui/runs/{run_id:str}", media_type=MediaType.HTML, include_in_schema=False)
async def run_page(
    run_id: FromPath[str],
    viewer: NamedDependency[Viewer],
    get_run: NamedDependency[GetRun],
    get_workflow: NamedDependency[GetWorkflow],
    list_children: NamedDependency[ListChildren],
    done: Done = None,
) -> Template:
    context = await _run_context(run_id, get_run, get_workflow, list_children)
    return page("run.html", viewer, "runs", done=done, **context)


@get("/ui/runs/{run_id:str}/live", media_type=MediaType.HTML, include_in_schema=False)
async def run_live(
    run_id: FromPath[str],
    viewer: NamedDependency[Viewer],
    get_run: NamedDependency[GetRun],
    get_workflow: NamedDependency[GetWorkflow],
) -> Template:
    """The part of a run's page that changes, fetched again when its stream says so."""
    context = await _run_context(run_id, get_run, get_workflow)
    return page("run_live.html", viewer, "runs", **context)


@get("/ui/runs/{run_id:str}/stream", media_type="text/event-stream", include_in_schema=False)
async def run_stream(
    run_id: FromPath[str],
    request: Request[Any, Any, Any],
    viewer: NamedDependency[Viewer],
    get_run: NamedDependency[GetRun],
    follow_run: NamedDependency[FollowRun],
    console_sessions: NamedDependency[ConsoleSessions],
    server_stopping: NamedDependency[asyncio.Event],
) -> ServerSentEvent:
    """The run's events as they happen (the API's stream, for a signed-in browser), for as
    long as the session holds: a revoked key or an expired session ends it."""
    run = (await get_run.execute(run_id)).run
    stream = event_stream(follow_run.execute(run_id, run.seq), server_stopping)
    session = request.cookies.get(COOKIE, "")

    async def signed_in() -> bool:
        return await console_sessions.read(session) is not None

    return ServerSentEvent(while_allowed(_unnamed(stream), signed_in))


async def _unnamed(
    messages: AsyncIterator[ServerSentEventMessage],
) -> AsyncIterator[ServerSentEventMessage]:
    """The same messages without event names: a browser's ``onmessage`` hears only those."""
    async for message in messages:
        message.event = None
        yield message
