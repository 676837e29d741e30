"""Notices go out through http.request: to a real server, and never past the address guard."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from wfa.adapters.actions.http.notice_poster import HttpNoticePoster
from wfa.application.ports.notices import DeliveryFailed


async def test_a_notice_is_posted_as_it_was_signed(server: HTTPServer, make_action) -> None:
    server.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    poster = HttpNoticePoster(make_action())
    body = '{"event": "run.failed", "n": 1}'
    await poster.post(server.url_for("/hook"), body, {"x-wfa-signature": "t=1,v1=ab"}, "n-1")
    [(request, _)] = server.log
    assert request.get_data(as_text=True) == body, "the bytes signed are the bytes sent"
    assert request.headers["X-WFA-Signature"] == "t=1,v1=ab"
    assert request.headers["Idempotency-Key"] == "n-1:notice"


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (400, False)])
async def test_a_target_that_fails_says_whether_to_try_again(
    server: HTTPServer, make_action, status: int, retryable: bool
) -> None:
    server.expect_oneshot_request("/hook").respond_with_response(Response("no", status=status))
    poster = HttpNoticePoster(make_action())
    with pytest.raises(DeliveryFailed) as failed:
        await poster.post(server.url_for("/hook"), "{}", {}, "n-2")
    assert failed.value.retryable is retryable


async def test_an_internal_address_is_refused_unless_allowed(server: HTTPServer, make_action):
    poster = HttpNoticePoster(make_action(allow=()))
    with pytest.raises(DeliveryFailed) as refused:
        await poster.post(server.url_for("/hook"), "{}", {}, "n-3")
    assert refused.value.retryable is False
    assert not server.log
