"""The response cap: a body over WFA_HTTP_MAX_RESPONSE_BYTES is refused, read no further."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.unit.adapters.actions_http.conftest import CONTEXT
from wfa.adapters.actions.http import HttpRequest
from wfa.application.ports.actions import ActionError

LIMIT = 1024


async def failure(action: HttpRequest, url: str) -> ActionError:
    with pytest.raises(ActionError) as raised:
        await action({"url": url}, CONTEXT)
    return raised.value


@pytest.fixture
def capped(make_action: Callable[..., HttpRequest]) -> HttpRequest:
    return make_action(max_response_bytes=LIMIT)


async def test_a_body_at_the_limit_is_read(server: HTTPServer, capped: HttpRequest) -> None:
    server.expect_request("/fit").respond_with_data("x" * LIMIT)

    assert (await capped({"url": server.url_for("/fit")}, CONTEXT))["body"] == "x" * LIMIT


async def test_an_announced_length_over_the_limit_is_refused(
    server: HTTPServer, capped: HttpRequest
) -> None:
    server.expect_request("/big").respond_with_data("x" * (LIMIT + 1))

    big = await failure(capped, server.url_for("/big"))

    assert (big.error, big.retryable) == ("http.too_large", False)
    assert f"announces {LIMIT + 1} bytes, over the limit of {LIMIT} bytes" in big.message


async def test_a_stream_is_cut_at_the_limit(server: HTTPServer, capped: HttpRequest) -> None:
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for part in range(100_000):  # 50 MB: more than any socket buffer holds
            sent.append(part)
            yield b"y" * 512

    server.expect_request("/stream").respond_with_response(Response(endless()))

    big = await failure(capped, server.url_for("/stream"))

    assert big.error == "http.too_large"
    assert "is longer, over the limit" in big.message
    assert len(sent) < 100_000  # the server was not read to its end


async def test_the_limit_counts_decompressed_bytes(server: HTTPServer, capped: HttpRequest) -> None:
    bomb = gzip.compress(b"\0" * (LIMIT * 50))
    assert len(bomb) < LIMIT
    headers: Any = {"Content-Encoding": "gzip"}
    server.expect_request("/gz").respond_with_data(bomb, headers=headers)

    assert (await failure(capped, server.url_for("/gz"))).error == "http.too_large"
