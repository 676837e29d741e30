"""Redirects are followed hop by hop, each hop through the guard, up to max_redirects."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from tests.unit.adapters.actions_http.conftest import CONTEXT
from wfa.adapters.actions.http import HttpRequest
from wfa.adapters.actions.http.action import _Hop, _next_hop
from wfa.application.ports.actions import ActionError

BASIC = {"type": "basic", "username": "u", "password": "pw"}


def redirect(server: HTTPServer, path: str, to: str, status: int = 302) -> None:
    server.expect_request(path).respond_with_data("", status=status, headers={"Location": to})


def sent(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log]


async def failure(action: HttpRequest, **params: Any) -> ActionError:
    with pytest.raises(ActionError) as raised:
        await action(params, CONTEXT)
    return raised.value


async def test_redirects_are_followed(server: HTTPServer, http: HttpRequest) -> None:
    redirect(server, "/a", "/b", 301)
    redirect(server, "/b", server.url_for("/c"), 308)
    server.expect_request("/c").respond_with_json({"at": "c"})

    answer = await http({"url": server.url_for("/a")}, CONTEXT)

    assert (answer["status"], answer["body"]) == (200, {"at": "c"})
    assert answer["url"] == server.url_for("/c")
    assert [request.path for request in sent(server)] == ["/a", "/b", "/c"]
    assert {request.headers["Idempotency-Key"] for request in sent(server)} == {"run-1:fetch"}


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [(303, "GET", b""), (302, "GET", b""), (307, "POST", b'{"n":1}'), (308, "POST", b'{"n":1}')],
)
async def test_a_post_redirected(
    server: HTTPServer, http: HttpRequest, status: int, method: str, body: bytes
) -> None:
    redirect(server, "/post", "/landed", status)
    server.expect_request("/landed").respond_with_data("ok")

    await http({"url": server.url_for("/post"), "method": "POST", "json": {"n": 1}}, CONTEXT)

    landed = sent(server)[-1]
    assert (landed.method, landed.get_data()) == (method, body)
    assert ("Content-Type" in landed.headers) == bool(body)


async def test_credentials_do_not_follow_to_another_origin(
    server: HTTPServer, make_action: Callable[..., HttpRequest]
) -> None:
    action = make_action(allow=("127.0.0.1", "localhost"))
    elsewhere = f"http://localhost:{server.port}/there"
    redirect(server, "/here", "/same")
    redirect(server, "/same", elsewhere)
    server.expect_request("/there").respond_with_data("ok")
    params = {"url": server.url_for("/here"), "auth": {"type": "bearer", "token": "t"}}

    await action(params, CONTEXT)

    here, same, there = sent(server)
    assert here.headers["Authorization"] == same.headers["Authorization"] == "Bearer t"
    assert "Authorization" not in there.headers
    assert there.headers["Idempotency-Key"] == "run-1:fetch"


async def test_too_many_redirects(server: HTTPServer, http: HttpRequest) -> None:
    redirect(server, "/loop", "/loop")

    looped = await failure(http, url=server.url_for("/loop"), max_redirects=2)

    assert (looped.error, looped.retryable) == ("http.redirects", False)
    assert "more than 2 redirects" in looped.message
    assert len(server.log) == 3


@pytest.mark.parametrize(
    "target",
    [
        "http://10.1.2.3/internal",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
async def test_a_redirect_to_a_blocked_place_is_refused(
    server: HTTPServer, http: HttpRequest, target: str
) -> None:
    redirect(server, "/out", target)

    refused = await failure(http, url=server.url_for("/out"))

    assert (refused.error, refused.retryable) == ("http.blocked", False)
    assert len(server.log) == 1


async def test_redirects_are_not_followed_when_told(server: HTTPServer, http: HttpRequest) -> None:
    redirect(server, "/moved", "/new", 301)

    unfollowed = await failure(http, url=server.url_for("/moved"), follow_redirects=False)
    answer = await http(
        {"url": server.url_for("/moved"), "follow_redirects": False, "expect": ["3xx"]}, CONTEXT
    )

    assert (unfollowed.error, unfollowed.retryable) == ("http.status.3xx", False)
    assert (answer["status"], answer["headers"]["location"]) == (301, "/new")


@pytest.fixture
def other_server() -> Iterator[HTTPServer]:
    """A second server on another port of 127.0.0.1: another origin."""
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    yield other
    other.stop()


async def test_headers_the_workflow_set_do_not_follow_to_another_port(
    server: HTTPServer, other_server: HTTPServer, http: HttpRequest
) -> None:
    redirect(server, "/here", "/same")
    redirect(server, "/same", other_server.url_for("/there"), 307)
    other_server.expect_request("/there").respond_with_data("ok")
    headers = {"X-Api-Key": "k1", "Private-Token": "p1", "X-Trace": "t1"}
    params = {"url": server.url_for("/here"), "headers": headers, "auth": BASIC}

    await http(params, CONTEXT)

    here, same = sent(server)
    (there,) = sent(other_server)
    for request in (here, same):  # the same origin: everything the workflow set goes along
        assert request.headers["X-Api-Key"] == "k1"
        assert request.headers["Private-Token"] == "p1"
        assert request.headers["Authorization"].startswith("Basic ")
    for name in ("X-Api-Key", "Private-Token", "X-Trace", "Authorization"):
        assert name not in there.headers, name
    assert there.headers["Idempotency-Key"] == "run-1:fetch"  # the engine's own header stays
    assert there.headers["User-Agent"].startswith("wfa/")


async def test_headers_are_kept_when_only_the_default_port_is_spelled_out(
    server: HTTPServer, http: HttpRequest
) -> None:
    hop = _Hop("GET", httpx.URL("http://a.example/x"), httpx.Headers({"X-Api-Key": "k"}), {})
    hop = dataclasses.replace(hop, workflow_headers=frozenset({"x-api-key"}))
    kept = _next_hop(hop, 302, "http://a.example:80/y")
    dropped = _next_hop(hop, 302, "https://a.example/y")
    assert kept.headers["X-Api-Key"] == "k"
    assert "X-Api-Key" not in dropped.headers
