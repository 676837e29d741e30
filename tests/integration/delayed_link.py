"""A TCP link to a service that delays what its clients send: makes timing races reproducible.

A client connected through the link has its commands reach the service ``delay`` seconds late,
while other clients connect directly, so "sent, but not yet applied" lasts long enough to see.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65536


class DelayedLink:
    def __init__(self, url: str, delay: float) -> None:
        self._target = urlsplit(url)
        self._delay = delay
        self._tasks: list[asyncio.Task[None]] = []
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        """The service's URL, leading through the link instead."""
        credentials = self._target.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(self._target._replace(netloc=f"{netloc}127.0.0.1:{self._port}"))

    async def __aenter__(self) -> DelayedLink:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self._target.hostname or "127.0.0.1", self._target.port or 6379
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        self._writers += [writer, upstream_writer]
        self._tasks += [
            asyncio.create_task(_pump(reader, upstream_writer, self._delay)),
            asyncio.create_task(_pump(upstream_reader, writer, 0.0)),
        ]


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    # One chunk at a time, so the delay never reorders what was sent.
    while data := await reader.read(CHUNK):
        await asyncio.sleep(delay)
        writer.write(data)
        await writer.drain()
    writer.close()
