"""Webhooks: ``POST /hooks/{path}`` starts a run of the workflow that owns the path."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, QueryParameter

from wfa.application.use_cases.follow_run import AwaitRunEnd
from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.application.use_cases.webhooks import FindWebhookWorkflow
from wfa.domain.definition import WebhookTrigger
from wfa.entrypoints.http.disconnect import client_gone
from wfa.entrypoints.http.params import IdempotencyKey
from wfa.entrypoints.http.problems import responses
from wfa.entrypoints.http.schemas import RunAccepted, WaitedRun

MAX_WAIT_SECONDS = 60.0
# Not optional: Litestar reads the text "null" as None for an optional parameter, so
# ``?wait=null`` was taken for "no wait" instead of being refused.
Wait = Annotated[
    float,
    QueryParameter(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Seconds to hold for the run's end (0: answer at once).",
        schema_extra={"minimum": 0},  # Litestar leaves out a bound of 0 (it tests truthiness)
    ),
]
Signature = Annotated[str | None, HeaderParameter(name="X-WFA-Signature", max_length=200)]


@post(
    "/hooks/{hook_path:path}",
    tags=["webhooks"],
    status_code=202,
    responses={
        200: ResponseSpec(
            data_container=WaitedRun,
            description="The run ended within ``wait`` seconds: its outcome",
            generate_examples=False,
        ),
        202: ResponseSpec(
            data_container=RunAccepted,
            description="The run is started (or still going after ``wait`` seconds)",
            generate_examples=False,
        ),
        **responses(400, 401, 404, 413, 422),
    },
)
async def receive_webhook(
    request: Request[Any, Any, Any],
    hook_path: FromPath[str],
    find_webhook_workflow: NamedDependency[FindWebhookWorkflow],
    start_run: NamedDependency[StartRun],
    await_run_end: NamedDependency[AwaitRunEnd],
    wait: Wait = 0.0,
    idempotency_key: IdempotencyKey = None,
    x_wfa_signature: Signature = None,
) -> Response[RunAccepted | WaitedRun]:
    """Start a run with the JSON body as its input; ``?wait=S`` holds for its end.

    A workflow whose webhook has a secret requires ``X-WFA-Signature: sha256=<hex>``, the
    HMAC-SHA256 of the raw body. Answers 202 with the run id, or 200 with the run's outcome
    when it ended within ``wait`` seconds.
    """
    path = hook_path.strip("/")
    workflow = await find_webhook_workflow.execute(path)
    body = await request.body()
    trigger = next(
        t for t in workflow.definition.triggers if isinstance(t, WebhookTrigger) and t.path == path
    )
    if trigger.secret is not None and not _signed(body, trigger.secret, x_wfa_signature):
        raise NotAuthorizedException("missing or wrong X-WFA-Signature for this webhook")
    started = await start_run.execute(
        StartRunRequest(
            workflow_id=workflow.id,
            input=_json_body(body),
            trigger=f"webhook:{path}",
            idempotency_key=idempotency_key,
        )
    )
    if wait:
        run = await await_run_end.within(started.run_id, wait, client_gone(request))
        if run is not None:  # None: not ended in time, the caller left, or no place was free
            ended = WaitedRun(run_id=run.id, status=run.status, output=run.output, error=run.error)
            return Response(ended, status_code=200)
    return Response(RunAccepted(run_id=started.run_id, created=started.created), status_code=202)


def _signed(body: bytes, secret: str, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").strip().lower()
    if not given.isascii():  # compare_digest raises on non-ASCII text: a 500, not a 401
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ValidationException(f"the webhook body is not valid JSON: {error}") from None
