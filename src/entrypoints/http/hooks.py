"""Webhooks: ``POST /hooks/{path}`` starts a run of the workflow that owns the path.

Decodes the request and encodes the answer; ``ReceiveWebhook`` finds, checks and starts.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, QueryParameter

from wfa.application.use_cases.follow_run import AwaitRunEnd
from wfa.application.use_cases.webhooks import ReceiveWebhook, WebhookRequest
from wfa.entrypoints.http.disconnect import released
from wfa.entrypoints.http.params import IdempotencyKey
from wfa.entrypoints.http.problems import responses
from wfa.entrypoints.http.schemas import RunAccepted, WaitedRun
from wfa.entrypoints.http.strict_requests import any_query

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

# No length or character bounds on these: a malformed signature header is a 401 from the
# signature check (which bounds it), not a 400 from parameter validation.
WfaSignature = Annotated[
    str | None,
    HeaderParameter(
        name="X-WFA-Signature",
        description="Scheme wfa (the default): 't=<unix seconds>,v1=<hex>', the hex being "
        "HMAC-SHA256(secret, '<t>.<body>'); several v1= are allowed.",
    ),
]
HubSignature = Annotated[
    str | None,
    HeaderParameter(
        name="X-Hub-Signature-256", description="Scheme github: 'sha256=<hex HMAC of the body>'."
    ),
]
GitHubDelivery = Annotated[
    str | None,
    HeaderParameter(name="X-GitHub-Delivery", description="Scheme github: the delivery id."),
]
StripeSignature = Annotated[
    str | None,
    HeaderParameter(name="Stripe-Signature", description="Scheme stripe: 't=<unix>,v1=<hex>'."),
]
SlackSignature = Annotated[
    str | None, HeaderParameter(name="X-Slack-Signature", description="Scheme slack: 'v0=<hex>'.")
]
SlackTimestamp = Annotated[
    str | None,
    HeaderParameter(name="X-Slack-Request-Timestamp", description="Scheme slack: unix seconds."),
]


@post(
    "/hooks/{hook_path:path}",
    tags=["webhooks"],
    status_code=202,
    opt=any_query(),
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
async def post_hook(
    request: Request[Any, Any, Any],
    hook_path: FromPath[str],
    receive_webhook: NamedDependency[ReceiveWebhook],
    await_run_end: NamedDependency[AwaitRunEnd],
    server_stopping: NamedDependency[asyncio.Event],
    wait: Wait = 0.0,
    idempotency_key: IdempotencyKey = None,
    x_wfa_signature: WfaSignature = None,
    x_hub_signature_256: HubSignature = None,
    x_github_delivery: GitHubDelivery = None,
    stripe_signature: StripeSignature = None,
    x_slack_signature: SlackSignature = None,
    x_slack_request_timestamp: SlackTimestamp = None,
) -> Response[RunAccepted | WaitedRun]:
    """Start a run with the JSON body as its input; ``?wait=S`` holds for its end.

    A workflow whose webhook has a secret requires a signature in its scheme's header
    (``signature`` on the trigger: ``wfa``, ``github``, ``stripe`` or ``slack``); a
    signature already accepted is refused (401). Answers 202 with the run id, or 200 with
    the run's outcome when it ended within ``wait`` seconds.
    """
    headers = {
        "x-wfa-signature": x_wfa_signature,
        "x-hub-signature-256": x_hub_signature_256,
        "x-github-delivery": x_github_delivery,
        "stripe-signature": stripe_signature,
        "x-slack-signature": x_slack_signature,
        "x-slack-request-timestamp": x_slack_request_timestamp,
    }
    started = await receive_webhook.execute(
        WebhookRequest(
            path=hook_path.strip("/"),
            body=await request.body(),
            headers={name: value for name, value in headers.items() if value is not None},
            idempotency_key=idempotency_key,
        )
    )
    if wait:
        let_go = released(request, server_stopping)
        run = await await_run_end.within(started.run_id, wait, let_go)
        # None: not ended in time, the caller left, the server is stopping, or no place was free
        if run is not None:
            ended = WaitedRun(run_id=run.id, status=run.status, output=run.output, error=run.error)
            return Response(ended, status_code=200)
    return Response(RunAccepted(run_id=started.run_id, created=started.created), status_code=202)
