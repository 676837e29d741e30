"""An in-process job queue: jobs wait in order until a local worker loop takes them.

A job is held only until a worker takes it; nothing is kept after.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from wfa.domain.progress import Job


class InMemoryJobQueue:
    def __init__(self) -> None:
        self._jobs: deque[Job] = deque()
        self._ready = asyncio.Event()

    async def enqueue(self, jobs: Sequence[Job]) -> None:
        self._jobs.extend(jobs)
        self._ready.set()

    def __len__(self) -> int:
        return len(self._jobs)

    def take(self) -> Job | None:
        """The next job, or None when the queue is empty."""
        if not self._jobs:
            self._ready.clear()
            return None
        return self._jobs.popleft()

    async def wait(self) -> None:
        """Wait until a job is queued (bound it with ``asyncio.timeout``)."""
        while not self._jobs:
            self._ready.clear()
            await self._ready.wait()

    async def drain(self, handle: Callable[[Job], Awaitable[object]]) -> int:
        """Handle jobs until none is left, including those handling queues; return the count."""
        handled = 0
        while (job := self.take()) is not None:
            await handle(job)
            handled += 1
        return handled
