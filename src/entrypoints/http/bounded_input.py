"""What every request is checked for before a handler or a decoder sees it.

- A JSON body nested deeper than ``WFA_MAX_JSON_DEPTH`` is 400, checked on the raw bytes
  when the body is first read, so no recursive decoder meets it (nesting of ~1,000 levels
  made msgspec and everything after it raise RecursionError: a 500).
- A NUL character in the path or the query string is 400: no identifier holds one, and
  PostgreSQL refuses it in text (an error of the driver, not an answer).

NUL inside a body is refused by the use cases (422, naming where), the same on every store.
"""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Empty, HTTPResponseStartEvent, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from wfa.application.payloads import DEFAULT_MAX_JSON_DEPTH, check_json_text
from wfa.entrypoints.http.problems import PROBLEM_JSON, Problem
from wfa.entrypoints.http.strict_requests import media_type
from wfa.entrypoints.http.yaml_bodies import YAML_TYPES, load_yaml_body

_CHECKED = "wfa_body_depth_checked"  # in the connection's state: one scan per request


def bounded_request_class(max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> type[Request[Any, Any, Any]]:
    """A Request whose body is refused (PayloadTooDeep, 400) when nested too deep, and whose
    YAML body (on a route that accepts one) is read as YAML's safe subset."""

    class BoundedRequest(Request[Any, Any, Any]):
        async def body(self) -> bytes:
            body = await super().body()
            state = self.scope.setdefault("state", {})
            if not state.get(_CHECKED):
                check_json_text(body, "the request body", max_depth)
                state[_CHECKED] = True
            return body

        async def json(self) -> Any:
            # Only a route that accepts YAML lets a YAML body this far (strict_requests.py).
            if media_type(self) not in YAML_TYPES:
                return await super().json()
            state = ScopeState.from_scope(self.scope)
            if state.json is Empty:
                body = await self.body()
                state.json = await anyio.to_thread.run_sync(load_yaml_body, body, max_depth)
            return state.json

    return BoundedRequest


def refuse_nul_in_target(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: 400 for a path or query string holding NUL (``%00``)."""

    async def checked(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            query = scope.get("query_string", b"")
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                await _refuse(scope, send)
                return
        await app(scope, receive, send)

    return checked


async def _refuse(scope: Scope, send: Send) -> None:
    problem = Problem(
        title="Bad Request",
        status=400,
        detail="the path or query string holds a NUL character (%00), which nothing accepts",
    )
    body = msgspec.json.encode(problem)
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 400,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", b"%d" % len(body)),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
