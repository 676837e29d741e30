"""A unit of work that hands everything to a real one: tests subclass it to watch or bend
one repository (or the commit) and leave the rest as the store has it."""

from __future__ import annotations

from typing import Any


class DelegatingUnitOfWork:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aenter__(self) -> Any:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._inner.__aexit__(*exc_info)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # every repository, as the inner unit has them

    async def commit(self) -> None:
        await self._inner.commit()
