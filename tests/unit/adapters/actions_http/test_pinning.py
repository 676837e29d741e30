"""The pinned-address transport: resolved once, vetted, connected to as vetted.

A resolver that answers differently each time (DNS rebinding) cannot move a connection:
the address connected to is the one the guard saw, and TLS still checks the host name.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import pytest
import trustme
from pytest_httpserver import HTTPServer

from tests.unit.adapters.actions_http.conftest import CONTEXT
from wfa.adapters.actions.http import HttpRequest
from wfa.application.ports.actions import ActionError


class ScriptedResolver:
    """Answers each lookup with the next of its scripted answers."""

    def __init__(self, *answers: list[str]) -> None:
        self._answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self._answers.pop(0)


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The real socket backend, noting every address it is asked to connect to."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)


async def failure(action: HttpRequest, url: str, **params: Any) -> ActionError:
    with pytest.raises(ActionError) as raised:
        await action({"url": url, **params}, CONTEXT)
    return raised.value


async def test_a_rebinding_answer_cannot_move_the_connection(
    server: HTTPServer, make_action: Callable[..., HttpRequest]
) -> None:
    server.expect_request("/x").respond_with_data("ok", headers={"Connection": "close"})
    resolver = ScriptedResolver(["127.0.0.1"], ["169.254.169.254"])
    backend = RecordingBackend()
    action = make_action(resolver=resolver, connector=backend)
    url = f"http://rebind.test:{server.port}/x"

    first = await action({"url": url}, CONTEXT)
    second = await failure(action, url)

    assert first["body"] == "ok"
    assert (second.error, second.retryable) == ("http.blocked", False)
    assert "169.254.169.254" in second.message
    assert resolver.lookups == ["rebind.test", "rebind.test"]  # once per connection, no more
    assert backend.connected == ["127.0.0.1"]  # never the second answer
    (request, _), *_ = server.log
    assert request.headers["Host"] == f"rebind.test:{server.port}"


async def test_a_name_that_resolves_internal_is_refused_before_connecting(
    server: HTTPServer, make_action: Callable[..., HttpRequest]
) -> None:
    backend = RecordingBackend()
    action = make_action(allow=(), connector=backend)  # the real resolver

    refused = await failure(action, f"http://localhost:{server.port}/")

    assert refused.error == "http.blocked"
    assert refused.message.startswith(f"GET http://localhost:{server.port}/: localhost (")
    assert backend.connected == []
    assert server.log == []


async def test_an_internal_ip_literal_is_refused_without_a_lookup(
    make_action: Callable[..., HttpRequest],
) -> None:
    resolver = ScriptedResolver()
    action = make_action(allow=(), resolver=resolver)

    for url in ("http://127.0.0.1/", "http://[::1]/", "http://169.254.169.254/latest/meta-data"):
        assert (await failure(action, url)).error == "http.blocked"
    assert resolver.lookups == []


async def test_the_next_vetted_address_is_tried_when_one_refuses(
    server: HTTPServer, make_action: Callable[..., HttpRequest]
) -> None:
    server.expect_request("/").respond_with_data("second")
    backend = RecordingBackend()
    # 127.0.0.2 is loopback too, but nothing listens there: the connection is refused.
    resolver = ScriptedResolver(["127.0.0.2", "127.0.0.1"])
    action = make_action(allow=("127.0.0.0/8",), resolver=resolver, connector=backend)

    answer = await action({"url": f"http://two.test:{server.port}/"}, CONTEXT)

    assert answer["body"] == "second"
    assert backend.connected == ["127.0.0.2", "127.0.0.1"]


async def test_lookup_failures_and_slow_lookups(make_action: Callable[..., HttpRequest]) -> None:
    async def unknown(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return ["8.8.8.8"]

    missing = await failure(make_action(resolver=unknown), "http://nowhere.test/")
    assert (missing.error, missing.retryable) == ("http.connect", True)
    assert "cannot resolve nowhere.test" in missing.message

    stuck = await failure(make_action(resolver=slow), "http://slow.test/", timeout={"connect": 0.1})
    assert (stuck.error, stuck.message) == (
        "http.timeout",
        "GET http://slow.test/: timed out connecting",
    )


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(authority: trustme.CA) -> Any:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("pinned.test").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.expect_request("/").respond_with_json({"tls": True})
    server.start()
    yield server
    server.stop()


async def test_tls_checks_the_host_name_on_the_pinned_address(
    tls_server: HTTPServer, authority: trustme.CA, make_action: Callable[..., HttpRequest]
) -> None:
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    backend = RecordingBackend()
    resolver = ScriptedResolver(["127.0.0.1"])
    action = make_action(resolver=resolver, connector=backend, ssl_context=client_context)

    answer = await action({"url": f"https://pinned.test:{tls_server.port}/"}, CONTEXT)
    # The same address by IP: the certificate names pinned.test, not 127.0.0.1.
    by_address = await failure(action, f"https://127.0.0.1:{tls_server.port}/")

    assert answer["body"] == {"tls": True}
    assert backend.connected == ["127.0.0.1", "127.0.0.1"]
    assert by_address.error == "http.connect"
    assert "certificate" in by_address.message.lower()
