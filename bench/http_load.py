"""A lean HTTP/1.1 load generator for 127.0.0.1: keep-alive connections, open or closed loop.

httpx spends more CPU per request than the server under test can afford to lose on a shared
two-core machine, so requests here are written by hand on asyncio streams: a request is one
write, an answer one header read and one body read. Only what the benchmarks send is spoken:
JSON bodies, ``Content-Length`` answers, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msgspec


class Answer(msgspec.Struct):
    status: int
    body: bytes

    def json(self) -> object:
        return msgspec.json.decode(self.body)


class Stale(ConnectionError):
    """A kept-alive connection the server had closed: nothing of the request was read."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, head: bytes, body: bytes) -> Answer:
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise Stale("the server closed the connection before answering")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return Answer(status, await self.reader.readexactly(length) if length else b"")

    def close(self) -> None:
        self.writer.close()


class Client:
    """At most ``size`` keep-alive connections to ``base``; a request waits for a free one."""

    def __init__(self, base: str, headers: dict[str, str], size: int = 64) -> None:
        parts = urlsplit(base)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._headers = f"Host: {self._host}\r\nContent-Type: application/json\r\n{extra}"
        self._free: asyncio.Queue[_Connection] = asyncio.Queue()
        self._opened = 0
        self._size = size

    async def request(self, method: str, path: str, payload: object = None) -> Answer:
        body = b"" if payload is None else msgspec.json.encode(payload)
        head = f"{method} {path} HTTP/1.1\r\n{self._headers}Content-Length: {len(body)}\r\n\r\n"
        for _ in range(self._size + 1):
            connection = await self._take()
            try:
                answer = await connection.send(head.encode(), body)
            except Stale:  # the server let an idle connection go before this request: again
                self._drop(connection)
                continue
            except BaseException:
                self._drop(connection)
                raise
            self._free.put_nowait(connection)
            return answer
        raise ConnectionError("the server closes every connection")

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._opened -= 1

    def free(self) -> bool:
        """Whether a request would find a connection without waiting."""
        return not self._free.empty() or self._opened < self._size

    async def _take(self) -> _Connection:
        if self._free.empty() and self._opened < self._size:
            self._opened += 1
            try:
                reader, writer = await asyncio.open_connection(self._host, self._port)
            except BaseException:
                self._opened -= 1
                raise
            return _Connection(reader, writer)
        return await self._free.get()

    async def close(self) -> None:
        while not self._free.empty():
            self._free.get_nowait().close()


@dataclass
class Sent:
    """What an open loop sent: when each request left (wall clock) and what came back."""

    at: list[float] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    skipped: int = 0  # due while every connection was busy: the server fell behind


async def open_loop(
    client: Client, rate: float, seconds: float, send: Callable[[int], Awaitable[Answer]]
) -> Sent:
    """Send ``rate`` requests a second for ``seconds``, each at its own due time whatever
    the answers before it; one due while every connection is in use is skipped and counted."""
    sent = Sent()
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    began = loop.time()
    total = int(rate * seconds)

    async def one(number: int) -> None:
        at = time.time()
        answer = await send(number)
        sent.at.append(at)
        sent.answers.append(answer)

    for number in range(total):
        delay = began + number / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if client.free():
            tasks.append(asyncio.create_task(one(number)))
        else:
            sent.skipped += 1
    await asyncio.gather(*tasks)
    return sent


async def closed_loop(count: int, concurrency: int, send: Callable[[int], Awaitable[None]]) -> None:
    """Send ``count`` requests, ``concurrency`` at a time, each as soon as one ends."""
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await send(number)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
