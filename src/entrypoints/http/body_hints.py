"""The fix for a body sent without its envelope: ``{"name": "Ada"}`` where a run is started
with ``{"input": {"name": "Ada"}}``.

A route names the field its payload belongs under with ``opt=envelope("input")``; when its
body is refused for an unknown field, the problem detail shows the body wrapped as it should
have been sent (or elided when long, so a large body is never echoed back).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

ENVELOPE_OPT = "envelope"  # the route opt naming the field a body's payload goes under
MAX_SHOWN = 120  # characters of the wrapped body shown in a hint


def envelope(field: str, what: str) -> dict[str, tuple[str, str]]:
    """The route opt for a body whose payload (``what``, in words) goes under ``field``."""
    return {ENVELOPE_OPT: (field, what)}


def envelope_hint(request: Request[Any, Any, Any], error: ValidationException) -> str:
    """``'; the run's input goes under "input": {"input": {...}}'`` for a body that misses
    its envelope on a route that declares one, else ``""``."""
    handler = request.scope.get("route_handler")
    declared = None if handler is None else handler.opt.get(ENVELOPE_OPT)
    if declared is None or not _names_an_unknown_field(error):
        return ""
    field, what = declared
    body = ScopeState.from_scope(request.scope).body  # read (and depth-checked) already
    try:
        sent = msgspec.json.decode(body) if body is not Empty else None
    except msgspec.DecodeError:
        return ""
    if not isinstance(sent, dict) or field in sent:
        return ""
    wrapped = json.dumps({field: sent}, ensure_ascii=False)
    if len(wrapped) > MAX_SHOWN:
        wrapped = json.dumps({field: {}}).replace("{}", "{…}")
    return f'; {what} goes under "{field}": {wrapped}'


def _names_an_unknown_field(error: ValidationException) -> bool:
    items = error.extra if isinstance(error.extra, list) else []
    messages = [str(item.get("message", "")) for item in items if isinstance(item, dict)]
    return any("unknown field" in message for message in messages)
