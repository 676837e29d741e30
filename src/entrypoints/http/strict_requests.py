"""What a route accepts beyond its path: the query parameters it declares and the body types
it reads. A misspelt ``?limt=5`` was ignored silently and a form-encoded body read as JSON;
both are now refused with the fix, before the handler or its body decoder runs.

- A query parameter the route does not declare (nor any of its dependencies) is 400, naming
  it and the ones the route takes; webhooks (``opt=any_query()``) take any, since their
  senders are systems outside our control.
- A body sent to a route that reads JSON must be ``application/json`` (or ``…+json``); a
  route with ``opt=accepts_yaml()`` also takes ``application/yaml`` / ``text/yaml``. Another
  type is 415. A body without a content type is read as JSON, as before.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar._kwargs import KwargsModel
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute

from wfa.entrypoints.http.yaml_bodies import YAML_TYPES

YAML_OPT = "accepts_yaml"
ANY_QUERY_OPT = "any_query"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class UnsupportedMediaType(HTTPException):
    status_code = 415


def accepts_yaml() -> dict[str, bool]:
    """The route opt for a route whose JSON body may also be sent as YAML."""
    return {YAML_OPT: True}


def any_query() -> dict[str, bool]:
    """The route opt for a route called by systems we do not control (webhooks): a sender that
    adds its own query parameters (a tracking id, a token in the URL) must not be refused."""
    return {ANY_QUERY_OPT: True}


def media_type(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The request's content type without parameters, lower case ("" when absent)."""
    return connection.headers.get("content-type", "").partition(";")[0].strip().lower()


class _RouteShape:
    """The query parameters a handler reads and whether it reads a JSON body."""

    def __init__(self, handler: HTTPRouteHandler, model: KwargsModel) -> None:
        self.any_query = "query" in model.expected_reserved_kwargs or bool(
            handler.opt.get(ANY_QUERY_OPT)
        )
        self.query = frozenset(p.field_alias for p in model.expected_query_params)
        self.reads_json = (
            "data" in handler.parsed_fn_signature.parameters
            and model.expected_form_data is None
            and model.expected_msgpack_data is None
        )


class StrictRequests:
    """The app-wide guard, told every route's shape once the app has registered them all."""

    def __init__(self) -> None:
        # By identity: the app holds its handlers for as long as it holds this guard.
        self._shapes: dict[int, _RouteShape] = {}

    def learn(self, app: Litestar) -> None:
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                for handler, model in route.route_handler_map.values():
                    self._shapes[id(handler)] = _RouteShape(handler, model)

    async def guard(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        """400 for undeclared query parameters, 415 for a body type the route does not read."""
        # The handler as routed: guards are handed a copy of it.
        shape = self._shapes.get(id(connection.scope.get("route_handler")))
        if shape is None or not isinstance(handler, HTTPRouteHandler):
            return  # not an HTTP route (a websocket): nothing here applies
        unknown = sorted(set(connection.query_params) - shape.query)
        if unknown and not shape.any_query:
            takes = ", ".join(f"'{name}'" for name in sorted(shape.query)) or "none"
            names = ", ".join(f"'{name}'" for name in unknown)
            plural = "s" * (len(unknown) > 1)
            raise ClientException(
                f"unknown query parameter{plural} {names}; this route takes {takes}"
            )
        if shape.reads_json and connection.scope.get("method") in _BODY_METHODS:
            _check_body_type(connection, handler)


def _check_body_type(
    connection: ASGIConnection[Any, Any, Any, Any], handler: HTTPRouteHandler
) -> None:
    sent = media_type(connection)
    if not sent or connection.headers.get("content-length") == "0":
        return
    if sent == "application/json" or sent.endswith("+json"):
        return
    yaml_too = bool(handler.opt.get(YAML_OPT))
    if yaml_too and sent in YAML_TYPES:
        return
    wanted = "application/json or application/yaml" if yaml_too else "application/json"
    raise UnsupportedMediaType(
        f"this route reads {wanted}, not {sent!r}: send 'Content-Type: application/json'"
        + (" (or 'application/yaml' with a YAML body)" if yaml_too else "")
    )
