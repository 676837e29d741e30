"""Following a run's stream to its end, across streams the server closes and restarts of
the server: reconnect from the last event seen, after a pause, for a bounded time.

A server that stops ends its streams with a comment and a ``retry`` field (the pause it
asks for); one that is killed just drops the connection; one that is restarting refuses
connections, or its load balancer answers 502/503/504, for a while. All of these are waited
out, each pause a little longer than the one before, until ``GIVE_UP_AFTER`` seconds have
passed without an answer from the server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from wfa.entrypoints.client.errors import ApiError, ServerUnreachable
from wfa.entrypoints.client.types import StreamedEvent

if TYPE_CHECKING:
    from wfa.entrypoints.client.api import Client

GIVE_UP_AFTER = 60.0  # seconds without an answer from the server before following gives up
FIRST_PAUSE = 1.0  # seconds before reconnecting, unless the server asked for another pause
LONGEST_PAUSE = 5.0  # the pause grows by half each time the server still cannot be reached
GATEWAY_DOWN = frozenset({502, 503, 504})  # a proxy's answer while the server behind it is away

RetryHint = Callable[[float], None]
T = TypeVar("T")


class Patience:
    """When to try the server again, and when to stop trying."""

    def __init__(self, give_up_after: float, pause: float) -> None:
        self.give_up_after = give_up_after
        self.first_pause = pause
        self.pause = pause
        self.asked: float | None = None  # the server's retry, in seconds
        self.last_answer = time.monotonic()

    def answered(self) -> None:
        self.last_answer = time.monotonic()
        self.pause = self.first_pause if self.asked is None else self.asked

    def server_asks(self, seconds: float) -> None:
        self.asked = self.pause = seconds

    def wait(self, error: Exception | None = None) -> None:
        """Sleep before the next try; raise ``error`` when the server has been silent too long."""
        if error is not None and time.monotonic() - self.last_answer >= self.give_up_after:
            raise error
        time.sleep(self.pause)
        self.pause = min(self.pause * 1.5, max(LONGEST_PAUSE, self.asked or 0.0))

    def patiently(self, call: Callable[[], T]) -> T:
        """``call()``, tried again while the server cannot be reached."""
        while True:
            try:
                found = call()
            except (ServerUnreachable, ApiError) as error:
                if isinstance(error, ApiError) and error.status not in GATEWAY_DOWN:
                    raise
                self.wait(error)
                continue
            self.answered()
            return found


def follow_run(
    client: Client, run_id: str, *, give_up_after: float, pause: float
) -> Iterator[StreamedEvent]:
    """Every event of the run once, in order, until the event that ends it."""
    patience = Patience(give_up_after, pause)
    seen = 0
    while True:
        fresh = False
        try:
            for event in client.stream_run(run_id, seen, on_retry=patience.server_asks):
                patience.answered()
                if event.seq <= seen:
                    continue
                seen, fresh = event.seq, True
                yield event
                if event.ends_run:
                    return
        except (ServerUnreachable, ApiError) as error:
            if isinstance(error, ApiError) and error.status not in GATEWAY_DOWN:
                raise
            patience.wait(error)
            continue
        patience.answered()  # the stream was open, and closed early
        if patience.patiently(lambda: client.get_run(run_id).ended) and not fresh:
            return
        patience.wait()
