"""When the client of a request hangs up: what a handler holding the connection open waits on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request


def client_gone(request: Request[Any, Any, Any]) -> Callable[[], Awaitable[None]]:
    """A wait that ends when the client disconnects; call it only after the body was read.

    Past the body, the server's next message on the request is its disconnect, so a waiter
    whose caller has left gives its place back at once instead of at its timeout.
    """

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    return gone
