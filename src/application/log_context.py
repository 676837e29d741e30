"""Fields that every log record written inside a block carries: set run_id once, see it everywhere.

Use cases name what they work on (``with log_context(run_id=..., step_id=...)``); the logging
adapter's filter adds these fields to each record. Context variables follow asyncio tasks, so
concurrent attempts in one worker never see each other's fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_fields: ContextVar[Mapping[str, Any]] = ContextVar("wfa_log_context", default=_EMPTY)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every record logged inside the block; inner blocks add to outer ones."""
    token = _fields.set(MappingProxyType({**_fields.get(), **fields}))
    try:
        yield
    finally:
        _fields.reset(token)


def current_log_context() -> Mapping[str, Any]:
    """The fields of the innermost open ``log_context`` (empty outside any)."""
    return _fields.get()
