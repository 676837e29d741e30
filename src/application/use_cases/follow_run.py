"""Follow a run: its history from a point, then its new events live, until it ends.

The stored history is the source of truth; the live feed only makes news fast. Events are
handed out in ``seq`` order without gaps or repeats: a gap in the feed is filled from the
history, anything already handed out is skipped, and when the feed is silent for
``recheck_after`` seconds the history is read again, so an event the feed lost (the run's
last one included) still arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from wfa.application.errors import NotFound
from wfa.application.ports.delivery import EventFeed
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.domain.events import TERMINAL_EVENTS, Event
from wfa.domain.run import Run

RECHECK_AFTER_SECONDS = 5.0
DEFAULT_MAX_WAITERS = 1000
HISTORY_PAGE = 500  # events read from the store at once: a history may hold 10,000 and more
LIVE_BACKLOG = 1000  # live events held for a slow follower; past it they are read back later


class FollowRun:
    def __init__(
        self, uow: UnitOfWorkFactory, feed: EventFeed, recheck_after: float = RECHECK_AFTER_SECONDS
    ) -> None:
        self._uow, self._feed, self._recheck_after = uow, feed, recheck_after

    async def execute(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Yield the run's events after ``after_seq``; stop after the run ends.

        Raises NotFound (before yielding anything) for an unknown run.
        """
        async with self._feed.follow(run_id) as live:
            stored, finished, seq = await self._stored(run_id, after_seq)
            # A position past the history means "seen it all": otherwise every event up to
            # it, the run's last one too, would be skipped and the follow would never end.
            last = min(after_seq, seq)
            while True:  # the stored history, a page at a time
                for event in stored:
                    yield event
                    last = event.seq
                if finished or len(stored) < HISTORY_PAGE:
                    break
                stored, finished, seq = await self._stored(run_id, last)
            if finished:
                return
            arrivals: asyncio.Queue[Event] = asyncio.Queue(maxsize=LIVE_BACKLOG)
            dropped = asyncio.Event()
            pump = asyncio.create_task(_pump(live, arrivals, dropped))
            try:
                while True:
                    batch = await self._next(run_id, last, arrivals, dropped)
                    for event in batch:
                        yield event
                        last = event.seq
                        if isinstance(event, TERMINAL_EVENTS):
                            return
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump

    async def _next(
        self, run_id: str, last: int, arrivals: asyncio.Queue[Event], dropped: asyncio.Event
    ) -> list[Event]:
        """The events right after ``last``: from the feed when it has them, else the history."""
        if arrivals.empty() and dropped.is_set():  # the backlog overflowed: read what it lost
            dropped.clear()
            return (await self._stored(run_id, last))[0]
        try:
            async with asyncio.timeout(self._recheck_after):
                event = await arrivals.get()
        except TimeoutError:
            return (await self._stored(run_id, last))[0]
        if event.seq <= last:
            return []
        if event.seq == last + 1:
            return [event]
        return (await self._stored(run_id, last))[0]  # the feed skipped some: refill

    async def _stored(self, run_id: str, after_seq: int) -> tuple[list[Event], bool, int]:
        """History after ``after_seq``, whether the run has ended there, and the run's seq."""
        async with self._uow() as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run", run_id)
            history = await uow.runs.history(run_id, after_seq, HISTORY_PAGE)
        if history:
            return history, isinstance(history[-1], TERMINAL_EVENTS), run.seq
        return history, run.status.is_terminal, run.seq


async def _pump(
    live: AsyncIterator[Event], arrivals: asyncio.Queue[Event], dropped: asyncio.Event
) -> None:
    # A follower that reads slower than the run moves must not hold every event: one that
    # finds the queue full is dropped, and the gap is refilled from the history (``_next``).
    async for event in live:
        if arrivals.full():
            dropped.set()
        else:
            arrivals.put_nowait(event)


class WaiterLimit:
    """How many callers may hold for a run's end at once in this process (WFA_MAX_WAITERS).

    Each holder keeps a connection, a follow of the run and a task open; past the limit a
    caller is told at once that no place is free and answers without waiting. One per
    process; the event loop runs it on one thread, so a plain count is enough.
    """

    def __init__(self, limit: int = DEFAULT_MAX_WAITERS) -> None:
        self.limit = limit
        self.holding = 0  # callers holding now
        self.refused = 0  # callers turned away since the process started

    @contextlib.contextmanager
    def place(self) -> Iterator[bool]:
        """True for the block's length when a place was free; False (and counted) when not."""
        if self.holding >= self.limit:
            self.refused += 1
            yield False
            return
        self.holding += 1
        try:
            yield True
        finally:  # on the end, a timeout, the caller leaving, or cancellation alike
            self.holding -= 1


class AwaitRunEnd:
    """Wait until a run ends and return it: what a caller holding for the outcome needs.

    Like FollowRun it listens first and reads second, so an end published in between is not
    missed, and it reads the run again whenever the feed is silent for ``recheck_after``
    seconds; unlike it, it reads only the run, never its history.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        feed: EventFeed,
        recheck_after: float = RECHECK_AFTER_SECONDS,
        waiters: WaiterLimit | None = None,
    ) -> None:
        self._uow, self._feed, self._recheck_after = uow, feed, recheck_after
        self._waiters = waiters if waiters is not None else WaiterLimit()

    async def within(
        self,
        run_id: str,
        seconds: float,
        caller_gone: Callable[[], Awaitable[object]] | None = None,
    ) -> Run | None:
        """The run if it ends within ``seconds``, else None; None at once when the process
        already holds its limit of waiters, and as soon as ``caller_gone()`` completes."""
        with self._waiters.place() as held:
            if not held:
                return None
            ending = asyncio.ensure_future(self.execute(run_id))
            watches: set[asyncio.Future[Any]] = {ending}
            if caller_gone is not None:
                watches.add(asyncio.ensure_future(caller_gone()))
            try:
                done, _ = await asyncio.wait(
                    watches, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
                )
                return ending.result() if ending in done else None
            finally:
                for watch in watches:
                    watch.cancel()
                await asyncio.gather(*watches, return_exceptions=True)

    async def execute(self, run_id: str) -> Run:
        """The ended run. Raises NotFound for an unknown run; bound it with a timeout."""
        async with self._feed.follow(run_id) as live:
            run = await self._read(run_id)
            if run.status.is_terminal:
                return run
            arrivals: asyncio.Queue[Event] = asyncio.Queue(maxsize=LIVE_BACKLOG)
            # This loop drains the queue as events come, so it overflows only on a stalled
            # loop; an end lost so is found by reading the run again after recheck_after.
            pump = asyncio.create_task(_pump(live, arrivals, asyncio.Event()))
            try:
                while not run.status.is_terminal:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._recheck_after):
                            while not isinstance(await arrivals.get(), TERMINAL_EVENTS):
                                pass
                    run = await self._read(run_id)
                return run
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump

    async def _read(self, run_id: str) -> Run:
        async with self._uow() as uow:
            run = await uow.runs.get(run_id)
        if run is None:
            raise NotFound("run", run_id)
        return run
