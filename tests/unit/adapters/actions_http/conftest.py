"""A real HTTP server on 127.0.0.1, and http.request actions that may reach it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from wfa.adapters.actions.http import HttpRequest, HttpSettings
from wfa.application.ports.actions import ActionContext

CONTEXT = ActionContext(run_id="run-1", workflow_id="wf", step_id="fetch", attempt=1, try_number=1)


@pytest.fixture(scope="module")
def running_server() -> Iterator[HTTPServer]:
    # Threaded: a handler that sleeps (timeout tests) must not hold up the next request.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(running_server: HTTPServer) -> Iterator[HTTPServer]:
    yield running_server
    running_server.clear()


@pytest.fixture
async def make_action() -> AsyncIterator[Callable[..., HttpRequest]]:
    """Actions that may reach 127.0.0.1 (unless told otherwise), closed after the test."""
    made: list[HttpRequest] = []

    def make(allow: tuple[str, ...] = ("127.0.0.1",), **options: Any) -> HttpRequest:
        limit = options.pop("max_response_bytes", 64 * 1024)
        action = HttpRequest(HttpSettings(allow=allow, max_response_bytes=limit), **options)
        made.append(action)
        return action

    yield make
    for action in made:
        await action.aclose()


@pytest.fixture
def http(make_action: Callable[..., HttpRequest]) -> HttpRequest:
    return make_action()
