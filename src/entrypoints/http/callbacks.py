"""Task callbacks: ``POST /callbacks/{token}`` (and ``/fail``) end the step waiting for them.

No API key: the token in the path is the credential (signed, single use, expiring), handed
to whoever the task's action chose to tell. Decodes and encodes; ``UseCallback`` decides.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from wfa.application.use_cases.callbacks import MAX_TOKEN_LENGTH, CallbackUsed, UseCallback
from wfa.entrypoints.http.problems import responses
from wfa.entrypoints.http.schemas import CallbackFailIn, CallbackOut

Token = Annotated[
    str,
    PathParameter(max_length=MAX_TOKEN_LENGTH, description="The token of the callback link."),
]


@post(
    "/callbacks/{token:str}",
    tags=["callbacks"],
    status_code=200,
    responses=responses(400, 404, 409, 413, 422),
)
async def use_callback(
    token: Token, use_callback: NamedDependency[UseCallback], data: JSONBody[Any] = None
) -> CallbackOut:
    """The waiting task step succeeds with the JSON body as its output (404: no such link;
    409: used already, or its step is over)."""
    return _out(await use_callback.succeed(token, data))


@post(
    "/callbacks/{token:str}/fail",
    tags=["callbacks"],
    status_code=200,
    responses=responses(400, 404, 409, 413, 422),
)
async def fail_callback(
    token: Token, data: JSONBody[CallbackFailIn], use_callback: NamedDependency[UseCallback]
) -> CallbackOut:
    """The waiting task step fails with ``{error, message}``; its retry and catch apply."""
    return _out(await use_callback.fail(token, data.error, data.message))


def _out(used: CallbackUsed) -> CallbackOut:
    return CallbackOut(run_id=used.run.id, step_id=used.step_id, status=used.run.status)
