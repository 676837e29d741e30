"""The params of ``http.request``, and the checks that turn them into a request to send.

The Struct gives the shape (unknown fields and wrong types are refused when a definition is
registered and before each call); ``prepare`` checks what depends on values, after the
templates are rendered: the URL, the method, one body at most, the expected statuses.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from wfa.application.ports.actions import ActionError

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_REDIRECTS = 20
_CLASS = re.compile(r"^([1-5])xx$")
_RANGE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")

Scalar = str | int | float | bool | None


class BasicAuth(
    msgspec.Struct, tag_field="type", tag="basic", frozen=True, forbid_unknown_fields=True
):
    username: str
    password: str


class BearerAuth(
    msgspec.Struct, tag_field="type", tag="bearer", frozen=True, forbid_unknown_fields=True
):
    token: str


class Timeouts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Seconds: to connect, between bytes read (or written), and for the whole exchange."""

    connect: float = 10.0
    read: float = 30.0
    total: float = 120.0


class HttpParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    method: str = "GET"
    query: dict[str, Scalar | list[Scalar]] = {}
    headers: dict[str, str | int | float | bool] = {}
    json: Any | msgspec.UnsetType = msgspec.UNSET
    form: dict[str, Scalar | list[Scalar]] | None = None
    content: str | None = None
    auth: BasicAuth | BearerAuth | None = None
    timeout: float | Timeouts = Timeouts()
    follow_redirects: bool = True
    max_redirects: int = 5
    expect: tuple[int | str, ...] = ("2xx",)
    idempotency_key: bool = True


@dataclass(frozen=True)
class Prepared:
    """A checked request: what to send first, and the rules for what comes back."""

    method: str
    url: httpx.URL
    headers: httpx.Headers
    body: dict[str, Any]  # httpx keyword: json / data / content, or nothing
    timeouts: Timeouts
    follow_redirects: bool
    max_redirects: int
    expect: tuple[tuple[int, int], ...]
    # Lower-case names of the headers the workflow set (auth included): credentials, as far
    # as anyone can tell, so they never follow a redirect to another origin.
    workflow_headers: frozenset[str] = frozenset()

    def expects(self, status: int) -> bool:
        return any(low <= status <= high for low, high in self.expect)


def invalid(message: str) -> ActionError:
    return ActionError("params.invalid", message, retryable=False)


def as_params(params: Any) -> HttpParams:
    if isinstance(params, HttpParams):
        return params
    try:
        return msgspec.convert(params, HttpParams)
    except msgspec.ValidationError as error:
        raise invalid(str(error)) from None


def prepare(params: HttpParams, idempotency_key: str, user_agent: str) -> Prepared:
    method = params.method.strip().upper()
    if method not in METHODS:
        raise invalid(f"method must be one of {', '.join(sorted(METHODS))}, got {params.method!r}")
    url = checked_url(params.url)
    if params.query:
        url = url.copy_merge_params(params.query)
    if not 0 <= params.max_redirects <= MAX_REDIRECTS:
        raise invalid(f"max_redirects must be from 0 to {MAX_REDIRECTS}")
    headers = httpx.Headers({"User-Agent": user_agent})
    for name, value in params.headers.items():
        headers[name] = _header_value(value)
    if params.idempotency_key and "idempotency-key" not in headers:
        headers["Idempotency-Key"] = idempotency_key
    if isinstance(params.auth, BasicAuth):
        pair = f"{params.auth.username}:{params.auth.password}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
    elif isinstance(params.auth, BearerAuth):
        headers["Authorization"] = f"Bearer {params.auth.token}"
    return Prepared(
        method=method,
        url=url,
        headers=headers,
        body=_body(params),
        timeouts=_timeouts(params.timeout),
        follow_redirects=params.follow_redirects,
        max_redirects=params.max_redirects,
        expect=tuple(_status_range(item) for item in params.expect),
        workflow_headers=frozenset(
            [name.lower() for name in params.headers]
            + (["authorization"] if params.auth is not None else [])
        ),
    )


def checked_url(text: str) -> httpx.URL:
    """An absolute http(s) URL with a host, or ``params.invalid``."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise invalid(f"url is not a valid URL: {error}") from None
    if url.scheme not in ("http", "https"):
        raise invalid(f"url must be http:// or https://, got {text[:100]!r}")
    if not url.host:
        raise invalid(f"url has no host: {text[:100]!r}")
    if url.port is not None and not 0 < url.port < 65536:
        raise invalid(f"url has no valid port: {text[:100]!r}")
    return url


def _header_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _body(params: HttpParams) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if params.json is not msgspec.UNSET:
        body["json"] = params.json  # null too: a JSON body that says null
    if params.form is not None:
        body["data"] = params.form
    if params.content is not None:
        body["content"] = params.content
    if len(body) > 1:
        raise invalid("give at most one body: json, form or content")
    return body


def _timeouts(timeout: float | Timeouts) -> Timeouts:
    if not isinstance(timeout, Timeouts):
        timeout = Timeouts(connect=min(timeout, 10.0), read=timeout, total=timeout)
    for name in ("connect", "read", "total"):
        if not 0 < getattr(timeout, name) <= 3600:
            raise invalid(f"timeout.{name} must be more than 0 and at most 3600 seconds")
    return timeout


def _status_range(item: int | str) -> tuple[int, int]:
    if isinstance(item, int):
        low = high = item
    elif match := _CLASS.match(item.strip().lower()):
        low = int(match.group(1)) * 100
        high = low + 99
    elif match := _RANGE.match(item.strip()):
        low, high = int(match.group(1)), int(match.group(2))
    else:
        raise invalid(f"expect: {item!r} is not a status (200), a class (2xx) or a range (200-299)")
    if not 100 <= low <= high <= 599:
        raise invalid(f"expect: {item!r} is not within 100-599")
    return low, high
