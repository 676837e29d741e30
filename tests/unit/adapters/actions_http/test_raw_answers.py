"""Answers no well-behaved server gives, from a raw socket server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from tests.unit.adapters.actions_http.conftest import CONTEXT
from wfa.adapters.actions.http import HttpRequest
from wfa.application.ports.actions import ActionError


@asynccontextmanager
async def answering(raw: bytes) -> AsyncIterator[str]:
    """A server that reads one request, writes ``raw`` and hangs up; yields its URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(raw)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/"


async def failure(action: HttpRequest, raw: bytes) -> ActionError:
    async with answering(raw) as url:
        with pytest.raises(ActionError) as raised:
            await action({"url": url}, CONTEXT)
    return raised.value


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly part",
        b"this is not HTTP\r\n\r\n",
        b"",
    ],
)
async def test_a_broken_answer_is_a_network_error(
    make_action: Callable[..., HttpRequest], raw: bytes
) -> None:
    broken = await failure(make_action(), raw)

    assert (broken.error, broken.retryable) == ("http.network", True)
    assert broken.message.startswith("GET http://127.0.0.1:")


async def test_a_malformed_location_is_a_malformed_answer(
    make_action: Callable[..., HttpRequest],
) -> None:
    raw = b"HTTP/1.1 302 Found\r\nLocation: http://host:port/\r\nContent-Length: 0\r\n\r\n"

    broken = await failure(make_action(), raw)

    assert broken.error == "http.network"
    assert "Invalid URL in location header" in broken.message
