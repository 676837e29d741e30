"""RFC 9457 problem details for every error, and the one place errors map to status codes."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from wfa.application.errors import (
    AmbiguousWorkflow,
    ApplicationError,
    ConcurrencyConflict,
    DuplicateApiKey,
    DuplicateRun,
    InvalidRequest,
    InvalidSecret,
    InvalidWebhookBody,
    NotFound,
    ReplayedWebhook,
    SecretKeyUnavailable,
    StoreRefused,
    UnknownCallback,
    UnreadableSecret,
    WebhookPathTaken,
    WebhookSecretRefused,
)
from wfa.application.paging import InvalidCursor
from wfa.application.payloads import NotJson, PayloadTooDeep, PayloadTooLarge, UnstorableText
from wfa.domain.errors import IllegalTransition, InvalidDefinition, InvalidPayload, Refusal
from wfa.domain.webhook_signatures import SignatureRefused
from wfa.entrypoints.http.access_log import shown_path
from wfa.entrypoints.http.body_hints import envelope_hint

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ProblemItem(msgspec.Struct, frozen=True):
    """One problem of an invalid definition or request, at its path."""

    path: str
    message: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    # The engine's name for what went wrong, when it has one (``signal.inbox_full``...).
    code: str | None = None
    problems: list[ProblemItem] | None = None


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# Domain and application errors, most specific first: the status a client sees for each.
_STATUS: list[tuple[type[Exception], int]] = [
    (InvalidDefinition, 422),
    (InvalidPayload, 422),
    (UnknownCallback, 404),
    (NotFound, 404),
    (IllegalTransition, 409),
    (ConcurrencyConflict, 409),
    (DuplicateRun, 409),
    (AmbiguousWorkflow, 409),
    (DuplicateApiKey, 409),
    (WebhookPathTaken, 409),
    (PayloadTooLarge, 413),
    (NotJson, 422),
    (PayloadTooDeep, 400),
    (UnstorableText, 422),
    (StoreRefused, 422),  # the database refused a value of the request (it is not retried)
    (InvalidCursor, 400),
    (InvalidSecret, 422),
    (SecretKeyUnavailable, 503),  # the server has no WFA_SECRET_KEY to seal a secret with
    (UnreadableSecret, 503),  # a webhook's stored secret that the server's keys do not open
    (SignatureRefused, 401),
    (ReplayedWebhook, 401),
    (InvalidWebhookBody, 400),
    (InvalidRequest, 400),
    (WebhookSecretRefused, 422),
]


def problem_response(
    status: int,
    detail: str,
    request: Request[Any, Any, Any] | None = None,
    problems: list[ProblemItem] | None = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> Response[Problem]:
    body = Problem(
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=None if request is None else _instance(request),
        code=code,
        problems=problems,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(error: Exception) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def _instance(request: Request[Any, Any, Any]) -> str:
    # A credential in the path (a callback's token) is not repeated in an error either.
    return shown_path(request.scope)


def handle_domain_error(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    status = status_of(error)
    problems = None
    if isinstance(error, InvalidDefinition | InvalidPayload):
        problems = [ProblemItem(p.path, p.message) for p in error.problems]
    code = error.code if isinstance(error, Refusal) else None
    return problem_response(status, str(error), request, problems, code=code)


def handle_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    problems = None
    if isinstance(error, ValidationException) and isinstance(error.extra, list):
        problems = [_validation_item(item) for item in error.extra]
    status = error.status_code
    detail = (error.detail or _TITLES.get(status, "Error")).replace(
        request.url.path, _instance(request)
    )
    if isinstance(error, ValidationException):
        detail += envelope_hint(request, error)
    if status == 413:
        limit = getattr(request.app, "request_max_body_size", None)
        most = f" ({limit:,} bytes at most: WFA_MAX_PAYLOAD_BYTES plus 64 KiB)" if limit else ""
        detail = f"the request body is larger than this server accepts{most}"
    return problem_response(status, detail, request, problems, headers=error.headers)


def _validation_item(item: Any) -> ProblemItem:
    if isinstance(item, dict):
        source = item.get("source", "")
        where = source.value if isinstance(source, Enum) else str(source)  # not "ParamType.QUERY"
        key = item.get("key", "")
        return ProblemItem(f"{where}.{key}".strip("."), str(item.get("message", "")))
    return ProblemItem("", str(item))


def handle_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, _instance(request))
    return problem_response(500, "the server failed to handle this request", request)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApplicationError: handle_domain_error,
    InvalidDefinition: handle_domain_error,
    IllegalTransition: handle_domain_error,
    InvalidPayload: handle_domain_error,
    SignatureRefused: handle_domain_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}


def responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI entries for the problem details a handler can answer with."""
    from litestar.openapi.datastructures import ResponseSpec

    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_TITLES.get(status, "Error"),
            media_type=PROBLEM_JSON,
            # Litestar would invent random examples (``"status": 6924``) for the document.
            generate_examples=False,
        )
        for status in statuses
    }
