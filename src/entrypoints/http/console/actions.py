"""The console's forms: start, cancel, retry and signal runs; set and delete secrets; create
and revoke API keys. Each checks the session's CSRF token (in ``signed_in``) and the key's
scope, calls the use case the API calls, and sends the browser back to the page it came from.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Response, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath
from litestar.response import Redirect, Template

from wfa.application.errors import InvalidRequest
from wfa.application.payloads import check_json_text
from wfa.application.use_cases.api_keys import CreateApiKey, ListApiKeys, RevokeApiKey
from wfa.application.use_cases.control_run import CancelRun, RetryRun
from wfa.application.use_cases.secrets import DeleteSecret, SetSecret
from wfa.application.use_cases.signals import DeliverSignal
from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.domain.api_keys import Scope
from wfa.entrypoints.http.console.pages import page
from wfa.entrypoints.http.console.session import Form, Viewer, require

MAX_FORM_KEY = 64


def _back(path: str, done: str) -> Response[Any]:
    return Redirect(f"{path}?done={done}", status_code=303)


def _json_field(data: dict[str, str], field: str, what: str) -> Any:
    """A form field holding JSON (empty: null), bounded like an API body."""
    text = data.get(field, "").strip()
    if not text:
        return None
    raw = text.encode()
    check_json_text(raw, what)
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as error:
        raise InvalidRequest(f"{what} is not valid JSON: {error}") from None


@post("/ui/workflows/{workflow_id:str}/runs", include_in_schema=False, status_code=303)
async def start(
    workflow_id: FromPath[str],
    viewer: NamedDependency[Viewer],
    data: Form,
    start_run: NamedDependency[StartRun],
) -> Response[Any]:
    require(viewer, Scope.OPERATOR)
    # The form's own key: a double click, or the form sent again, starts one run.
    form_key = data.get("form_key", "")[:MAX_FORM_KEY]
    started = await start_run.execute(
        StartRunRequest(
            workflow_id=workflow_id,
            input=_json_field(data, "input", "the input"),
            trigger="manual",
            idempotency_key=f"console:{form_key}" if form_key else None,
        )
    )
    return _back(f"/ui/runs/{quote(started.run_id, safe='')}", "started")


@post("/ui/runs/{run_id:str}/cancel", include_in_schema=False, status_code=303)
async def cancel(
    run_id: FromPath[str],
    viewer: NamedDependency[Viewer],
    data: Form,
    cancel_run: NamedDependency[CancelRun],
) -> Response[Any]:
    require(viewer, Scope.OPERATOR)
    reason = data.get("reason", "").strip()[:500] or f"cancelled in the console ({viewer.key.name})"
    await cancel_run.execute(run_id, reason)
    return _back(f"/ui/runs/{quote(run_id, safe='')}", "cancelled")


@post("/ui/runs/{run_id:str}/retry", include_in_schema=False, status_code=303)
async def retry(
    run_id: FromPath[str], viewer: NamedDependency[Viewer], retry_run: NamedDependency[RetryRun]
) -> Response[Any]:
    require(viewer, Scope.OPERATOR)
    await retry_run.execute(run_id)
    return _back(f"/ui/runs/{quote(run_id, safe='')}", "retried")


@post("/ui/runs/{run_id:str}/signal", include_in_schema=False, status_code=303)
async def signal(
    run_id: FromPath[str],
    viewer: NamedDependency[Viewer],
    data: Form,
    deliver_signal: NamedDependency[DeliverSignal],
) -> Response[Any]:
    require(viewer, Scope.OPERATOR)
    payload = _json_field(data, "payload", "the payload")
    await deliver_signal.execute(run_id, data.get("name", "").strip(), payload)
    return _back(f"/ui/runs/{quote(run_id, safe='')}", "signalled")


@post("/ui/secrets", include_in_schema=False, status_code=303)
async def set_secret(
    viewer: NamedDependency[Viewer], data: Form, set_secret: NamedDependency[SetSecret]
) -> Response[Any]:
    require(viewer, Scope.ADMIN)
    await set_secret.execute(data.get("name", "").strip(), data.get("value", ""))
    return _back("/ui/secrets", "secret-set")


@post("/ui/secrets/{name:str}/delete", include_in_schema=False, status_code=303)
async def delete_secret(
    name: FromPath[str],
    viewer: NamedDependency[Viewer],
    delete_secret: NamedDependency[DeleteSecret],
) -> Response[Any]:
    require(viewer, Scope.ADMIN)
    await delete_secret.execute(name)
    return _back("/ui/secrets", "secret-deleted")


@post("/ui/keys", include_in_schema=False, media_type=MediaType.HTML, status_code=201)
async def create_key(
    viewer: NamedDependency[Viewer],
    data: Form,
    create_api_key: NamedDependency[CreateApiKey],
    list_api_keys: NamedDependency[ListApiKeys],
) -> Template:
    """The new key is shown on this answer only: nothing can show it again."""
    require(viewer, Scope.ADMIN)
    name = data.get("name", "").strip()
    if not name or len(name) > 100:
        raise InvalidRequest("a key needs a name of 1 to 100 characters")
    try:
        scope = Scope(data.get("scope", ""))
    except ValueError:
        raise InvalidRequest("choose a scope: admin, operator or viewer") from None
    key, plaintext = await create_api_key.execute(name, scope)
    keys = await list_api_keys.execute()
    template = page("keys.html", viewer, "keys", keys=keys, created=key, plaintext=plaintext)
    template.status_code = 201
    template.headers["cache-control"] = "no-store"
    return template


@post("/ui/keys/{key_id:str}/revoke", include_in_schema=False, status_code=303)
async def revoke_key(
    key_id: FromPath[str],
    viewer: NamedDependency[Viewer],
    revoke_api_key: NamedDependency[RevokeApiKey],
) -> Response[Any]:
    require(viewer, Scope.ADMIN)
    await revoke_api_key.execute(key_id)
    return _back("/ui/keys", "key-revoked")
