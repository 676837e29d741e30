"""Whether this process can do its work: the database answers, the queue answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

CHECK_TIMEOUT_SECONDS = 2.0


class Readiness:
    def __init__(self, checks: dict[str, Callable[[], Awaitable[object]]]) -> None:
        self._checks = checks

    async def check(self) -> dict[str, str]:
        results = await asyncio.gather(*(self._one(probe) for probe in self._checks.values()))
        return dict(zip(self._checks, results, strict=True))

    async def _one(self, probe: Callable[[], Awaitable[object]]) -> str:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                await probe()
        except Exception as error:  # any failure means not ready; say which
            return f"failed: {type(error).__name__}: {error}"[:200]
        return "ok"
