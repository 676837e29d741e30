"""When a request held open should let go: its client hung up, or the server is stopping."""

from __future__ import annotations

import asyncio
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


def released(
    request: Request[Any, Any, Any], stopping: asyncio.Event
) -> Callable[[], Awaitable[None]]:
    """A wait that ends when the client disconnects or the server begins to stop.

    A holder answered at once when the server stops lets the server finish its shutdown
    instead of waiting out its grace period and cancelling the request with an ERROR.
    """
    gone = client_gone(request)

    async def either() -> None:
        watches = {asyncio.ensure_future(gone()), asyncio.ensure_future(stopping.wait())}
        try:
            await asyncio.wait(watches, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for watch in watches:
                watch.cancel()

    return either
