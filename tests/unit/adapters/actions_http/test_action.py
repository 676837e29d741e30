"""http.request against a real server on 127.0.0.1: requests as sent, answers as read."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.unit.adapters.actions_http.conftest import CONTEXT
from wfa.adapters.actions.http import HttpRequest
from wfa.adapters.actions.http.params import HttpParams
from wfa.application.ports.actions import ActionError


async def failure(action: HttpRequest, **params: Any) -> ActionError:
    with pytest.raises(ActionError) as raised:
        await action(params, CONTEXT)
    return raised.value


def sent(server: HTTPServer, path: str) -> list[Request]:
    # By path: a slow handler of an earlier test may still log its request during this one.
    return [request for request, _ in server.log if request.path == path]


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_every_method(server: HTTPServer, http: HttpRequest, method: str) -> None:
    server.expect_request("/m", method=method).respond_with_data("done")

    answer = await http({"url": server.url_for("/m"), "method": method.lower()}, CONTEXT)

    assert answer["status"] == 200
    assert answer["body"] == ("" if method == "HEAD" else "done")
    assert [request.method for request in sent(server, "/m")] == [method]


async def test_json_body_query_headers_and_json_answer(
    server: HTTPServer, http: HttpRequest
) -> None:
    server.expect_request("/orders", method="POST", json={"id": 7}).respond_with_json(
        {"ok": True}, status=201, headers={"X-Trace": "t1"}
    )
    params = {
        "url": server.url_for("/orders") + "?page=1",
        "method": "POST",
        "query": {"tag": ["a", "b"]},
        "headers": {"X-Tenant": "acme"},
        "json": {"id": 7},
    }

    answer = await http(params, CONTEXT)

    assert answer["status"] == 201
    assert answer["body"] == {"ok": True}
    assert answer["headers"]["x-trace"] == "t1"
    assert answer["headers"]["content-type"] == "application/json"
    assert answer["url"] == server.url_for("/orders") + "?page=1&tag=a&tag=b"
    assert isinstance(answer["elapsed"], float)
    assert answer["elapsed"] >= 0
    (request,) = sent(server, "/orders")
    assert request.args.getlist("tag") == ["a", "b"]
    assert request.headers["X-Tenant"] == "acme"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "run-1:fetch"
    assert request.headers["User-Agent"].startswith("wfa/")


async def test_a_struct_works_as_well_as_a_dict(server: HTTPServer, http: HttpRequest) -> None:
    server.expect_request("/s").respond_with_data("struct")

    answer = await http(HttpParams(url=server.url_for("/s")), CONTEXT)

    assert answer["body"] == "struct"


async def test_form_body(server: HTTPServer, http: HttpRequest) -> None:
    server.expect_request("/form", method="POST").respond_with_data("ok")

    await http(
        {"url": server.url_for("/form"), "method": "POST", "form": {"a": "1", "b": ["2", "3"]}},
        CONTEXT,
    )

    (request,) = sent(server, "/form")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form.getlist("b") == ["2", "3"]
    assert request.form["a"] == "1"


async def test_raw_content_with_its_own_type(server: HTTPServer, http: HttpRequest) -> None:
    server.expect_request("/raw", method="PUT").respond_with_data(
        "<ok/>", content_type="application/xml"
    )
    params = {
        "url": server.url_for("/raw"),
        "method": "PUT",
        "content": "<order id='7'/>",
        "headers": {"Content-Type": "application/xml"},
    }

    answer = await http(params, CONTEXT)

    assert answer["body"] == "<ok/>"  # not JSON: the text
    (request,) = sent(server, "/raw")
    assert request.get_data() == b"<order id='7'/>"
    assert request.headers["Content-Type"] == "application/xml"


@pytest.mark.parametrize(
    ("auth", "header"),
    [
        ({"type": "basic", "username": "ann", "password": "s3cret"}, "Basic YW5uOnMzY3JldA=="),
        ({"type": "bearer", "token": "tok-1"}, "Bearer tok-1"),
    ],
)
async def test_auth(
    server: HTTPServer, http: HttpRequest, auth: dict[str, str], header: str
) -> None:
    server.expect_request("/auth", headers={"Authorization": header}).respond_with_data("in")

    answer = await http({"url": server.url_for("/auth"), "auth": auth}, CONTEXT)

    assert answer["body"] == "in"


async def test_the_idempotency_key_can_be_left_out_or_given(
    server: HTTPServer, http: HttpRequest
) -> None:
    server.expect_request("/k").respond_with_data("ok")

    await http({"url": server.url_for("/k"), "idempotency_key": False}, CONTEXT)
    await http({"url": server.url_for("/k"), "headers": {"IDEMPOTENCY-KEY": "mine"}}, CONTEXT)

    first, second = sent(server, "/k")
    assert "Idempotency-Key" not in first.headers
    assert second.headers.getlist("Idempotency-Key") == ["mine"]


async def test_a_slow_answer_times_out(server: HTTPServer, http: HttpRequest) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("late")

    server.expect_request("/slow").respond_with_handler(slow)

    late = await failure(http, url=server.url_for("/slow"), timeout={"read": 0.2})

    assert (late.error, late.retryable) == ("http.timeout", True)
    assert late.message == f"GET {server.url_for('/slow')}: timed out waiting for the response"


async def test_the_total_timeout_bounds_a_trickle(server: HTTPServer, http: HttpRequest) -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(20):
            time.sleep(0.1)
            yield b"."

    server.expect_request("/trickle").respond_with_response(Response(trickle()))

    late = await failure(http, url=server.url_for("/trickle"), timeout={"read": 1, "total": 0.5})

    assert late.error == "http.timeout"
    assert late.message.endswith("no answer within 0.5s in all")


async def test_nothing_listening_is_a_connect_error(
    http: HttpRequest, unused_tcp_port: int
) -> None:
    refused = await failure(http, url=f"http://127.0.0.1:{unused_tcp_port}/")

    assert (refused.error, refused.retryable) == ("http.connect", True)


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (500, "http.status.5xx", True),
        (502, "http.status.5xx", True),
        (404, "http.status.4xx", False),
        (400, "http.status.4xx", False),
        (408, "http.status.4xx", True),
        (429, "http.status.429", True),
    ],
)
async def test_error_statuses_are_named_with_status_and_excerpt(
    server: HTTPServer, http: HttpRequest, status: int, error: str, retryable: bool
) -> None:
    body = '{"error": "upstream  exploded",\n "detail": "' + "x" * 5000 + '"}'
    server.expect_request("/e").respond_with_data(body, status=status)

    failed = await failure(http, url=server.url_for("/e") + "?key=secret")

    assert (failed.error, failed.retryable) == (error, retryable)
    assert failed.message.startswith(f"GET {server.url_for('/e')} answered {status} ")
    assert '{"error": "upstream exploded", "detail": "xxx' in failed.message
    assert len(failed.message) < 300
    assert "secret" not in failed.message


async def test_429_carries_retry_after(server: HTTPServer, http: HttpRequest) -> None:
    server.expect_request("/busy").respond_with_data("", status=429, headers={"Retry-After": "90"})

    busy = await failure(http, url=server.url_for("/busy"))

    assert (busy.error, busy.retry_after) == ("http.status.429", 90.0)


async def test_expect_accepts_other_statuses(server: HTTPServer, http: HttpRequest) -> None:
    server.expect_request("/gone").respond_with_json({"why": "deleted"}, status=404)

    answer = await http({"url": server.url_for("/gone"), "expect": ["2xx", 404]}, CONTEXT)
    refused = await failure(http, url=server.url_for("/gone"), expect=[200])

    assert (answer["status"], answer["body"]) == (404, {"why": "deleted"})
    assert refused.error == "http.status.4xx"


async def test_non_json_bodies_are_text(server: HTTPServer, http: HttpRequest) -> None:
    server.expect_request("/t").respond_with_data("héllo", content_type="text/plain; charset=utf-8")
    server.expect_request("/bad").respond_with_data("{nope", content_type="application/json")

    assert (await http({"url": server.url_for("/t")}, CONTEXT))["body"] == "héllo"
    assert (await http({"url": server.url_for("/bad")}, CONTEXT))["body"] == "{nope"


async def test_cookies_are_never_kept_between_requests(
    server: HTTPServer, http: HttpRequest
) -> None:
    server.expect_request("/c").respond_with_data(
        "ok", headers={"Set-Cookie": "session=abc; Path=/"}
    )

    await http({"url": server.url_for("/c")}, CONTEXT)
    await http({"url": server.url_for("/c")}, CONTEXT)

    assert [request.headers.get("Cookie") for request in sent(server, "/c")] == [None, None]


async def test_an_illegal_header_is_refused_as_params_invalid(
    server: HTTPServer, http: HttpRequest
) -> None:
    refused = await failure(http, url=server.url_for("/h"), headers={"Bad Header": "x"})

    assert (refused.error, refused.retryable) == ("params.invalid", False)
    assert sent(server, "/h") == []
