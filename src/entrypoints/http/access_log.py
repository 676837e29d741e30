"""The access log (``WFA_ACCESS_LOG``): one ``wfa.http`` line per HTTP request answered.

It wraps the whole ASGI app, so requests that match no route (404, 405) are logged too.
It names the path as requested but never query string values (a caller may put a
credential there), and a path parameter that is itself a credential (``{token}``) by its
name. The request id it gives a request is the one every other record of it carries.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from wfa.entrypoints.http.observe import REQUEST_ID, request_id_of

log = logging.getLogger("wfa.http")

# Path parameters whose value grants access: logged as the route template's {name}.
SECRET_PATH_PARAMETERS = ("token", "secret")
# Paths whose next segment is a credential (a callback link's token), matched or not.
SECRET_PATH_PREFIXES = ("/callbacks/",)
# Query parameter names come from the caller too: only a few, cut short, are logged.
MAX_LOGGED_QUERY_NAMES = 10
MAX_QUERY_NAME_LENGTH = 40


def access_logged(app: ASGIApp) -> ASGIApp:
    """``app``, writing one access log line for each HTTP request it answers."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not log.isEnabledFor(logging.INFO):
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before its response

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        request_id = request_id_of(scope)
        scope.setdefault("state", {})[REQUEST_ID] = request_id
        try:
            await app(scope, receive, send_status)
        finally:
            _log_request(scope, status, time.perf_counter() - started, request_id)

    return logged


def _log_request(scope: Scope, status: int, seconds: float, request_id: str) -> None:
    method = str(scope.get("method", ""))[:16]
    path = loggable_path(scope)
    client = scope.get("client")
    duration_ms = round(seconds * 1000, 1)
    log.info(
        "%s %s %d %.1f ms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client": client[0] if client else None,
            "request_id": request_id,
        },
    )


def shown_path(scope: Scope) -> str:
    """The path with the credentials in it shown by name only: the route's template when a
    parameter is one; a path under a credential-bearing prefix cut at it when no route
    matched (a mistyped callback link still holds its token)."""
    path = str(scope.get("path", ""))
    template = scope.get("path_template")
    params = scope.get("path_params") or {}
    if template and any(name in params for name in SECRET_PATH_PARAMETERS):
        return str(template)
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return f"{prefix}…"
    return path


def loggable_path(scope: Scope) -> str:
    """The path, with credentials in it shown by name only and query values left out."""
    path = shown_path(scope)
    query = scope.get("query_string", b"").decode("latin-1")
    if not query:
        return path
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    shown = [name[:MAX_QUERY_NAME_LENGTH] for name in names[:MAX_LOGGED_QUERY_NAMES]]
    more = "&…" if len(names) > MAX_LOGGED_QUERY_NAMES else ""
    return f"{path}?" + "&".join(f"{name}=…" for name in shown) + more
