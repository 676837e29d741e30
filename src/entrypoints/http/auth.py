"""API-key authentication for everything under /api/v1.

A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Verdicts are cached
for a few seconds per key hash, so a busy client costs no query per request; a revoked key
therefore stops working within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme

CACHE_SECONDS = 5.0
CACHE_SIZE = 1024

SECURITY_COMPONENTS = Components(
    security_schemes={
        "BearerAuth": SecurityScheme(type="http", scheme="bearer", description="An API key."),
        "ApiKeyAuth": SecurityScheme(
            type="apiKey", name="X-API-Key", security_scheme_in="header", description="An API key."
        ),
    }
)
SECURITY: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"ApiKeyAuth": []}]

Authenticate = Callable[[str], Awaitable[bool]]


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = connection.headers.get("x-api-key", "").strip()
    return key or None


class ApiKeyGuard:
    """A Litestar guard that admits only requests carrying an active API key."""

    def __init__(self, authenticate: Authenticate) -> None:
        self._authenticate = authenticate
        self._verdicts: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        key = presented_key(connection)
        if key is None:
            raise NotAuthorizedException(
                "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'",
                headers={"WWW-Authenticate": 'Bearer realm="wfa"'},
            )
        if not await self._valid(key):
            raise NotAuthorizedException(
                "this API key is not valid (unknown or revoked)",
                headers={"WWW-Authenticate": 'Bearer realm="wfa", error="invalid_token"'},
            )

    async def _valid(self, key: str) -> bool:
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        cached = self._verdicts.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        verdict = await self._authenticate(key)
        self._verdicts[digest] = (verdict, now + CACHE_SECONDS)
        self._verdicts.move_to_end(digest)
        while len(self._verdicts) > CACHE_SIZE:
            self._verdicts.popitem(last=False)
        return verdict
