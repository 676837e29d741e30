"""The event loop the long-running roles run on: uvloop's where it is installed.

The roles spend their CPU moving small messages between sockets (HTTP, PostgreSQL, Redis);
libuv's loop does that with less Python in between than asyncio's selector loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop  # optional: Windows has no build of it
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
