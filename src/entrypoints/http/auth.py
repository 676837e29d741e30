"""API-key authentication and scopes for everything under /api/v1.

A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. The key a request
presents is looked up once, by :func:`caller_middleware`, which runs before the API's rate
limit (so the limit counts per key id, never per raw key) and leaves the caller in the
request's state for :func:`require_scope`, the guard, to judge. Lookups are cached for a few
seconds per key hash, so a busy client costs no query per request; a revoked key therefore
stops working within ``CACHE_SECONDS``.

Each /api/v1 route declares the least scope it needs with ``opt=needs(Scope.X)``; a route
that declares none is treated as admin-only, and a test walks the route table for it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import msgspec
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, Receive, Scope, Send

from wfa.domain.api_keys import KEY_PREFIX, ApiKey
from wfa.domain.api_keys import Scope as KeyScope

CACHE_SECONDS = 5.0
CACHE_SIZE = 1024
SCOPE_OPT = "scope"  # the route opt that names the scope a route needs
_CALLER = "wfa.caller"  # request state: the Caller, or None when no valid key came

SECURITY_COMPONENTS = Components(
    security_schemes={
        "BearerAuth": SecurityScheme(type="http", scheme="bearer", description="An API key."),
        "ApiKeyAuth": SecurityScheme(
            type="apiKey", name="X-API-Key", security_scheme_in="header", description="An API key."
        ),
    }
)
SECURITY: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"ApiKeyAuth": []}]

Authenticate = Callable[[str], Awaitable[ApiKey | None]]


class Caller(msgspec.Struct, frozen=True):
    """Who a request's valid key belongs to: the key's id and scope, never the key."""

    key_id: str
    scope: KeyScope


def needs(scope: KeyScope) -> dict[str, KeyScope]:
    """The route opt that declares the least scope a route needs: ``opt=needs(...)``."""
    return {SCOPE_OPT: scope}


def caller_in(scope: Scope) -> Caller | None:
    """The caller :func:`caller_middleware` found for this request, if any."""
    caller: Caller | None = scope.get("state", {}).get(_CALLER)
    return caller


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = connection.headers.get("x-api-key", "").strip()
    return key or None


class Callers:
    """The caller behind a presented key, remembered for ``CACHE_SECONDS`` per key hash."""

    def __init__(self, authenticate: Authenticate) -> None:
        self._authenticate = authenticate
        self._known: OrderedDict[str, tuple[Caller | None, float]] = OrderedDict()

    async def of(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Caller | None:
        """The request's caller, looked up at most once per request."""
        state = connection.scope.setdefault("state", {})
        if _CALLER not in state:
            key = presented_key(connection)
            state[_CALLER] = None if key is None else await self._lookup(key)
        caller: Caller | None = state[_CALLER]
        return caller

    async def _lookup(self, key: str) -> Caller | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        cached = self._known.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = await self._authenticate(key)
        caller = None if found is None else Caller(found.id, found.scope)
        self._known[digest] = (caller, now + CACHE_SECONDS)
        self._known.move_to_end(digest)
        while len(self._known) > CACHE_SIZE:
            self._known.popitem(last=False)
        return caller


def caller_middleware(callers: Callers) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware that looks the request's key up before anything else needs it."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def identify(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP:
                await callers.of(ASGIConnection(scope))
            await app(scope, receive, send)

        return identify

    return middleware


def scope_guard(callers: Callers) -> Callable[..., Awaitable[None]]:
    """A Litestar guard: 401 without a valid key, 403 when its scope falls short."""

    async def require_scope(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        caller = await callers.of(connection)
        if caller is None:
            _refuse_unknown(connection)
        # A route that declares nothing is for admins: forgetting must not open it.
        needed = KeyScope(handler.opt.get(SCOPE_OPT, KeyScope.ADMIN))
        if not caller.scope.covers(needed):
            raise PermissionDeniedException(
                f"this API key has scope '{caller.scope}'; this operation needs '{needed}'"
                + ("" if needed is KeyScope.ADMIN else " or higher")
            )

    return require_scope


def _refuse_unknown(connection: ASGIConnection[Any, Any, Any, Any]) -> NoReturn:
    if presented_key(connection) is None:
        if connection.headers.get("authorization", "").strip().startswith(KEY_PREFIX):
            # A key pasted without its scheme: the commonest first 401, said as its fix.
            raise NotAuthorizedException(
                "the Authorization header needs the Bearer scheme: "
                "send 'Authorization: Bearer <key>' (or 'X-API-Key: <key>')",
                headers={"WWW-Authenticate": 'Bearer realm="wfa"'},
            )
        raise NotAuthorizedException(
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'",
            headers={"WWW-Authenticate": 'Bearer realm="wfa"'},
        )
    raise NotAuthorizedException(
        "this API key is not valid (unknown or revoked)",
        headers={"WWW-Authenticate": 'Bearer realm="wfa", error="invalid_token"'},
    )
