"""Runs: list, read with every attempt, history, live stream, cancel and retry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.response import ServerSentEvent

from wfa.application.ports.repositories import RunFilter
from wfa.application.use_cases.api_keys import AuthenticateApiKey
from wfa.application.use_cases.control_run import CancelRun, RetryRun
from wfa.application.use_cases.follow_run import FollowRun
from wfa.application.use_cases.queries import (
    DEFAULT_HISTORY_PAGE,
    GetRun,
    GetRunHistory,
    ListChildren,
    ListRuns,
)
from wfa.application.use_cases.signals import DeliverSignal
from wfa.domain.api_keys import Scope
from wfa.domain.run import RunStatus
from wfa.domain.step_checks import SIGNAL_NAME, SIGNAL_NAME_RULE
from wfa.entrypoints.http.auth import needs, presented_key
from wfa.entrypoints.http.params import MAX_SEQ, Cursor, EventLimit, Limit
from wfa.entrypoints.http.problems import responses
from wfa.entrypoints.http.schemas import (
    CancelIn,
    ChildPage,
    EventPage,
    RunDetailOut,
    RunOut,
    RunPage,
    SignalOut,
    StreamEvent,
    run_detail_out,
    run_out,
)
from wfa.entrypoints.http.streaming import event_stream, while_allowed

SSE = "text/event-stream"
WorkflowFilter = Annotated[str | None, QueryParameter(max_length=64)]
# A string checked here, not ``RunStatus | None``: Litestar reads the text "null" as None for
# an optional parameter, so ``?status=null`` listed every run instead of being refused.
StatusFilter = Annotated[
    str | None,
    QueryParameter(
        description="Only runs in this status.",
        schema_extra={"enum": [status.value for status in RunStatus]},
    ),
]
AfterSeq = Annotated[
    int,
    QueryParameter(
        ge=0,
        le=MAX_SEQ,
        description="Only events after this seq: 0 from the start, else the previous page's "
        "next_cursor.",
    ),
]
AttemptNumber = Annotated[
    int | None,
    QueryParameter(
        ge=1, le=MAX_SEQ, description="Which attempt of the step (default: its latest)."
    ),
]
IndexCursor = Annotated[
    str | None,
    QueryParameter(
        max_length=12, pattern=r"^\d+$", description="The next_cursor of the previous page."
    ),
]
SignalName = Annotated[
    str,
    PathParameter(
        pattern=SIGNAL_NAME.pattern,
        description=f"The signal's name ({SIGNAL_NAME_RULE}).",
    ),
]
SignalKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Delivering again with the same key records nothing new.",
    ),
]
# Strings read here, as for status: Litestar takes the text "null" for no filter at all.
CreatedAfter = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        description="Only runs created at or after this instant (RFC 3339, with its zone).",
        schema_extra={"format": "date-time"},
        examples=[Example(value="2026-12-01T00:00:00Z")],
    ),
]
CreatedBefore = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        description="Only runs created before this instant (RFC 3339, with its zone).",
        schema_extra={"format": "date-time"},
        examples=[Example(value="2026-12-02T00:00:00Z")],
    ),
]
LastEventId = Annotated[
    str | None,
    HeaderParameter(name="Last-Event-ID", max_length=20, pattern=r"^\d+$"),
]


class RunController(Controller):
    path = "/api/v1/runs"
    tags = ["runs"]

    @get("/", opt=needs(Scope.VIEWER), responses=responses(400, 401))
    async def list_runs(
        self,
        list_runs: NamedDependency[ListRuns],
        workflow_id: WorkflowFilter = None,
        status: StatusFilter = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        created_after: CreatedAfter = None,
        created_before: CreatedBefore = None,
    ) -> RunPage:
        """Runs newest first, filtered by workflow, status and creation time; pass
        next_cursor for more."""
        where = RunFilter(
            workflow_id=workflow_id,
            status=run_status(status),
            created_after=instant(created_after, "created_after"),
            created_before=instant(created_before, "created_before"),
        )
        page = await list_runs.execute(where, limit, cursor)
        return RunPage(items=[run_out(run) for run in page.runs], next_cursor=page.next_cursor)

    @get("/{run_id:str}", opt=needs(Scope.VIEWER), responses=responses(400, 401, 404))
    async def read(self, run_id: FromPath[str], get_run: NamedDependency[GetRun]) -> RunDetailOut:
        """The run: status, output or error, and every step with every attempt."""
        return run_detail_out(await get_run.execute(run_id))

    @get("/{run_id:str}/events", opt=needs(Scope.VIEWER), responses=responses(400, 401, 404))
    async def history(
        self,
        run_id: FromPath[str],
        run_history: NamedDependency[GetRunHistory],
        after_seq: AfterSeq = 0,
        limit: EventLimit = DEFAULT_HISTORY_PAGE,
        cursor: IndexCursor = None,
    ) -> EventPage:
        """The run's history in seq order, a page at a time; pass next_cursor back as cursor
        (or as after_seq, its older name)."""
        if cursor is not None:
            after_seq = min(int(cursor), MAX_SEQ)
        page = await run_history.execute(run_id, after_seq, limit)
        after = page.next_after_seq
        return EventPage(
            items=list(page.events),  # type: ignore[arg-type]
            next_cursor=None if after is None else str(after),
        )

    @get(
        "/{run_id:str}/steps/{step_id:str}/children",
        opt=needs(Scope.VIEWER),
        responses=responses(400, 401, 404),
    )
    async def children(
        self,
        run_id: FromPath[str],
        step_id: FromPath[str],
        list_children: NamedDependency[ListChildren],
        attempt: AttemptNumber = None,
        limit: Limit = 50,
        cursor: IndexCursor = None,
    ) -> ChildPage:
        """The branches, iterations or sub-workflow run a parallel, map or workflow step
        started, in order (branch order, item order), a page at a time."""
        after = -1 if cursor is None else int(cursor)
        page = await list_children.execute(run_id, step_id, attempt, after, limit)
        return ChildPage(
            items=[run_out(run) for run in page.runs],
            next_cursor=None if page.next_index is None else str(page.next_index),
        )

    @get(
        "/{run_id:str}/stream",
        opt=needs(Scope.VIEWER),
        media_type=SSE,
        responses={
            200: ResponseSpec(
                data_container=StreamEvent,
                media_type=SSE,
                description="Server-Sent Events, each one history event (the schema is one event)",
                generate_examples=False,
            ),
            **responses(400, 401, 404),
        },
    )
    async def stream(
        self,
        run_id: FromPath[str],
        request: Request[Any, Any, Any],
        follow_run: NamedDependency[FollowRun],
        get_run: NamedDependency[GetRun],
        authenticate_api_key: NamedDependency[AuthenticateApiKey],
        server_stopping: NamedDependency[asyncio.Event],
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        """The run's history as Server-Sent Events, then live until the run ends.

        Each event's id is its seq; reconnect with ``Last-Event-ID`` to go on from there.
        When the server stops, the stream ends after a last comment saying so; when the key
        that opened it is revoked, it ends within seconds.
        """
        await get_run.execute(run_id)  # 404 before the stream starts
        # Past the history means "seen it all" (FollowRun bounds it by the run's seq).
        after = min(int(last_event_id), MAX_SEQ) if last_event_id else 0
        key = presented_key(request) or ""

        async def key_holds() -> bool:
            return await authenticate_api_key.execute(key) is not None

        stream = event_stream(follow_run.execute(run_id, after), server_stopping)
        return ServerSentEvent(while_allowed(stream, key_holds))

    @post(
        "/{run_id:str}/signals/{name:str}",
        opt=needs(Scope.OPERATOR),
        status_code=202,
        responses=responses(400, 401, 404, 409, 413, 422),
    )
    async def signal(
        self,
        run_id: FromPath[str],
        name: SignalName,
        deliver_signal: NamedDependency[DeliverSignal],
        data: JSONBody[Any] = None,
        idempotency_key: SignalKey = None,
    ) -> SignalOut:
        """Deliver a signal with the JSON body as its payload. An await step waiting for it
        takes it at once; else the run keeps it until one does (409 when the run has ended
        or keeps WFA_MAX_PENDING_SIGNALS already; 422 when it does not fit the waiting
        step's schema). With an Idempotency-Key, the same key is delivered once."""
        delivered = await deliver_signal.execute(run_id, name, data, idempotency_key)
        return SignalOut(
            run_id=delivered.run_id,
            signal=delivered.signal,
            seq=delivered.seq,
            taken_by=delivered.taken_by,
            duplicate=delivered.duplicate,
        )

    @post(
        "/{run_id:str}/cancel",
        opt=needs(Scope.OPERATOR),
        status_code=200,
        responses=responses(400, 401, 404, 409),
    )
    async def cancel(
        self,
        run_id: FromPath[str],
        cancel_run: NamedDependency[CancelRun],
        data: JSONBody[CancelIn | None] = None,
    ) -> RunOut:
        """Cancel an unfinished run (409 when it has already ended)."""
        return run_out(await cancel_run.execute(run_id, "" if data is None else data.reason))

    @post(
        "/{run_id:str}/retry",
        opt=needs(Scope.OPERATOR),
        status_code=200,
        responses=responses(400, 401, 404, 409),
    )
    async def retry(self, run_id: FromPath[str], retry_run: NamedDependency[RetryRun]) -> RunOut:
        """Resume a failed run from its failed step (409 unless it failed)."""
        return run_out(await retry_run.execute(run_id))


def instant(value: str | None, name: str) -> datetime | None:
    """An instant from a query, with its zone: a time without one names no instant."""
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value)
        if found.tzinfo is not None:
            return found.astimezone(UTC)  # year 1 at +01:00 has no UTC instant: refused here
        problem = "needs a time zone (Z or an offset)"
    except (ValueError, OverflowError):
        problem = "is not a time this server can store"
    message = f"{name} {problem}: write it like 2026-12-01T09:30:00Z"
    raise ValidationException(message, extra=[{"source": "query", "key": name, "message": message}])


def run_status(value: str | None) -> RunStatus | None:
    if value is None:
        return None
    try:
        return RunStatus(value)
    except ValueError:
        expected = ", ".join(RunStatus)
        message = f"unknown run status {value!r} (expected one of: {expected})"
        raise ValidationException(
            message, extra=[{"source": "query", "key": "status", "message": message}]
        ) from None
