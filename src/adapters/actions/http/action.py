"""The ``http.request`` action: one HTTP exchange, its redirects followed hop by hop.

Every worker process shares one pooled client, made on first use and closed at shutdown.
Each hop goes through the guard (``PinnedBackend``): http and https only, and only to
addresses the guard allows, connected to as they were vetted. Failures become named errors
that retry and catch rules match (see docs for the list and which are retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from wfa import __version__
from wfa.adapters.actions.http.guard import AddressGuard, Blocked
from wfa.adapters.actions.http.params import HttpParams, Prepared, as_params, prepare
from wfa.adapters.actions.http.response import (
    decode_body,
    output,
    read_body,
    read_excerpt,
    shown,
    status_error,
)
from wfa.adapters.actions.http.transport import GuardedTransport, PinnedBackend, Resolver, resolve
from wfa.application.ports.actions import ActionContext, ActionError

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
USER_AGENT = f"wfa/{__version__}"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that must not follow a redirect to another origin (with every header the workflow
# set: X-Api-Key, Private-Token … are credentials too), nor a body that is dropped.
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding", "content-encoding")


@dataclass(frozen=True)
class HttpSettings:
    """What the operator decides: hosts opened to the guard, and the response size cap."""

    allow: tuple[str, ...] = ()
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_connections: int = 100


@dataclass(frozen=True)
class _Hop:
    method: str
    url: httpx.URL
    headers: httpx.Headers
    body: dict[str, Any]
    workflow_headers: frozenset[str] = frozenset()

    @property
    def shown(self) -> str:
        return shown(self.method, self.url)


class HttpRequest:
    """Sends one HTTP request; output ``{status, headers, body, elapsed, url}``."""

    name = "http.request"
    params_type: Any = HttpParams

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        resolver: Resolver = resolve,
        connector: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``resolver``, ``connector`` (opens vetted sockets) and ``ssl_context`` serve tests."""
        self.settings = settings or HttpSettings()
        self._ssl_context = ssl_context
        self._backend = PinnedBackend(AddressGuard(self.settings.allow), resolver, connector)
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        """The process's pooled client, made on first use (in the loop that uses it)."""
        loop = asyncio.get_running_loop()
        # A client's connections belong to one event loop; another loop (tests) gets its own.
        if self._client is None or self._loop is not loop:
            limits = httpx.Limits(max_connections=self.settings.max_connections)
            self._client = httpx.AsyncClient(
                transport=GuardedTransport(self._backend, limits, self._ssl_context),
                follow_redirects=False,  # followed here, each hop through the guard
                trust_env=False,  # no proxy from the environment: it would resolve for us
                cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),  # runs share none
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __call__(self, params: HttpParams | dict[str, Any], context: ActionContext) -> Any:
        prepared = prepare(as_params(params), context.idempotency_key, USER_AGENT)
        total = prepared.timeouts.total
        try:
            async with asyncio.timeout(total):
                return await self._exchange(prepared)
        except TimeoutError:
            message = f"{shown(prepared.method, prepared.url)}: no answer within {total}s in all"
            raise ActionError("http.timeout", message) from None

    async def _exchange(self, prepared: Prepared) -> Any:
        client = self.client()
        loop = asyncio.get_running_loop()
        started = loop.time()
        timeouts = prepared.timeouts
        timeout = httpx.Timeout(
            connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.connect
        )
        hop = _Hop(
            prepared.method,
            prepared.url,
            prepared.headers,
            prepared.body,
            prepared.workflow_headers,
        )
        for hops in itertools.count():
            with _named_errors(hop.shown):
                request = client.build_request(
                    hop.method, hop.url, headers=hop.headers, timeout=timeout, **hop.body
                )
                response = await client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    redirected = response.status_code in REDIRECT_STATUSES and location
                    if not (prepared.follow_redirects and redirected):
                        return await self._outcome(prepared, hop, response, loop.time() - started)
                    if hops >= prepared.max_redirects:
                        message = f"{hop.shown}: more than {prepared.max_redirects} redirects"
                        raise ActionError("http.redirects", message, retryable=False)
                    hop = _next_hop(hop, response.status_code, str(location))
                finally:
                    await response.aclose()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _outcome(
        self, prepared: Prepared, hop: _Hop, response: httpx.Response, elapsed: float
    ) -> Any:
        if not prepared.expects(response.status_code):
            raise status_error(hop.shown, response, await read_excerpt(response))
        limit = self.settings.max_response_bytes
        raw = await read_body(response, limit, f"the response to {hop.shown}")
        return output(response, decode_body(response, raw), elapsed)


def _next_hop(hop: _Hop, status: int, location: str) -> _Hop:
    """The request a redirect asks for, as browsers and httpx make it."""
    url = hop.url.join(location)  # httpx has refused a malformed Location already
    if url.scheme not in ("http", "https"):
        raise Blocked(f"it redirects to a {url.scheme}: URL; only http and https are followed")
    method, body, headers = hop.method, hop.body, httpx.Headers(hop.headers)
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", {}
        for name in _BODY_HEADERS:
            headers.pop(name, None)
    if _origin(url) != _origin(hop.url):
        for name in _CREDENTIALS | hop.workflow_headers:
            headers.pop(name, None)
    return _Hop(method, url, headers, body, hop.workflow_headers)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port; the port as used (http://h and http://h:80 are one origin)."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


@contextlib.contextmanager
def _named_errors(request: str) -> Iterator[None]:
    """httpx's and the guard's exceptions as the action's named errors."""
    try:
        yield
    except Blocked as error:
        raise ActionError("http.blocked", f"{request}: {error}", retryable=False) from None
    except httpx.TimeoutException as error:
        raise ActionError("http.timeout", f"{request}: {_timeout_phase(error)}") from None
    except httpx.ConnectError as error:
        raise ActionError("http.connect", f"{request}: cannot connect: {error}") from None
    except (httpx.LocalProtocolError, httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise ActionError("params.invalid", f"{request}: {error}", retryable=False) from None
    except httpx.HTTPError as error:  # the connection broke mid-exchange; it may have arrived
        kind = type(error).__name__
        raise ActionError("http.network", f"{request}: {kind}: {error}".rstrip(": ")) from None


def _timeout_phase(error: httpx.TimeoutException) -> str:
    if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
        return "timed out connecting"
    if isinstance(error, httpx.WriteTimeout):
        return "timed out sending the request"
    return "timed out waiting for the response"
