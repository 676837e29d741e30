"""http.request through the engine on a fake clock: retried on the policy's backoff (or the
server's Retry-After when longer), with the same Idempotency-Key on every attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.actions.http import HttpRequest
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine


def answers(*responses: Response) -> Callable[[Request], Response]:
    """A handler giving each response in turn, then the last one again."""
    given: Iterator[Response] = iter(responses)
    last = responses[-1]

    def handler(request: Request) -> Response:
        return next(given, last)

    return handler


def fetching(url: str) -> dict[str, Any]:
    retry = {"max_attempts": 3, "initial_interval": 5.0, "backoff_rate": 2.0}
    return {
        "name": "fetch-order",
        "steps": [
            {
                "id": "fetch",
                "type": "task",
                "action": "http.request",
                "params": {"method": "POST", "url": url, "json": {"order": "{{ input.id }}"}},
                "retry": retry,
                "catch": [{"errors": ["http.status.4xx"], "next": "report"}],
            },
            {"id": "total", "type": "succeed", "output": "{{ steps.fetch.output.body.total }}"},
            {"id": "report", "type": "fail", "error": "FetchFailed"},
        ],
    }


@pytest.fixture
def engine(make_action: Callable[..., HttpRequest]) -> LocalEngine:
    return LocalEngine.virtual(actions=default_registry(http=make_action()))


async def test_a_5xx_is_retried_on_the_backoff_with_the_same_idempotency_key(
    server: HTTPServer, engine: LocalEngine
) -> None:
    server.expect_request("/orders", method="POST").respond_with_handler(
        answers(
            Response("busy", status=503),
            Response('{"total": 120}', content_type="application/json"),
        )
    )

    details = await engine.run_once(fetching(server.url_for("/orders")), input={"id": 7})

    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == 120
    first, second = details.attempts
    assert first.error is not None
    assert (first.error.error, first.error.retry_after) == ("http.status.5xx", None)
    assert first.error.message.startswith(f"POST {server.url_for('/orders')} answered 503")
    assert first.ended_at is not None
    assert second.due_at - first.ended_at == timedelta(seconds=5)  # the policy's interval
    keys = [request.headers["Idempotency-Key"] for request, _ in server.log]
    assert keys == [f"{details.run.id}:fetch"] * 2
    assert [request.get_json() for request, _ in server.log] == [{"order": 7}] * 2


async def test_a_429_retry_after_longer_than_the_policy_is_waited_for(
    server: HTTPServer, engine: LocalEngine
) -> None:
    server.expect_request("/orders").respond_with_handler(
        answers(
            Response("slow down", status=429, headers={"Retry-After": "120"}),
            Response('{"total": 5}', content_type="application/json"),
        )
    )

    details = await engine.run_once(fetching(server.url_for("/orders")), input={"id": 1})

    assert details.run.status is RunStatus.SUCCEEDED
    first, second = details.attempts
    assert first.error is not None
    assert (first.error.error, first.error.retry_after) == ("http.status.429", 120.0)
    assert first.ended_at is not None
    assert second.due_at - first.ended_at == timedelta(seconds=120)  # not the policy's 5 s


async def test_a_4xx_is_not_retried_and_can_be_caught(
    server: HTTPServer, engine: LocalEngine
) -> None:
    server.expect_request("/orders").respond_with_json({"error": "no such order"}, status=404)

    details = await engine.run_once(fetching(server.url_for("/orders")), input={"id": 2})

    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "FetchFailed"
    (attempt,) = details.attempts
    assert attempt.error is not None
    assert (attempt.error.error, attempt.error.retryable) == ("http.status.4xx", False)
    assert attempt.error.message.endswith('answered 404 NOT FOUND: { "error": "no such order" }')
    assert len(server.log) == 1


async def test_by_default_the_engine_refuses_internal_addresses(server: HTTPServer) -> None:
    engine = LocalEngine.virtual()
    try:
        details = await engine.run_once(fetching(server.url_for("/orders")), input={"id": 3})
    finally:
        await engine.aclose()

    (attempt,) = details.attempts  # not retried: asking again changes nothing
    assert attempt.error is not None
    assert attempt.error.error == "http.blocked"
    assert server.log == []
