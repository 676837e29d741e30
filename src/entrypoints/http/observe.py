"""Per-request metrics and log context: route template, status, duration, request id."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType, ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry

from wfa.adapters.observability.metrics import HttpMetrics, render
from wfa.application.log_context import log_context


def metrics_middleware(http_metrics: HttpMetrics) -> Any:
    """An ASGI middleware factory recording every HTTP request by its route template."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            request_id = _request_id(scope)
            try:
                with log_context(request_id=request_id):
                    await app(scope, receive, send_status)
            finally:
                route = scope.get("path_template")
                method = str(scope.get("method", "GET"))
                http_metrics.observe(method, route, status, time.perf_counter() - started)

        return observed

    return middleware


REQUEST_ID = "wfa.request_id"  # scope state key: set by the access log, which runs first


def _request_id(scope: Scope) -> str:
    given = scope.get("state", {}).get(REQUEST_ID)
    if given is not None:
        return str(given)
    return request_id_of(scope)


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-Id when it is sane, else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id" and 0 < len(value) <= 100:
            return value.decode("latin-1")
    return uuid.uuid4().hex


@get("/metrics", tags=["operations"], media_type=MediaType.TEXT)
async def metrics(metrics_registry: NamedDependency[CollectorRegistry]) -> Response[bytes]:
    """Prometheus metrics of this process, in the Prometheus text format."""
    body, content_type = render(metrics_registry)
    # As a header: given as the media type, Litestar would add a second "; charset=utf-8".
    return Response(body, media_type=MediaType.TEXT, headers={"Content-Type": content_type})
