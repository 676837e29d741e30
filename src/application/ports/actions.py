"""Actions: what a task step runs. Built-ins and plugins implement the same interface."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import msgspec


class ActionContext(msgspec.Struct, frozen=True, kw_only=True):
    """What an action may know about the attempt it serves."""

    run_id: str
    workflow_id: str
    step_id: str
    attempt: int
    try_number: int

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of a step visit, so retried calls can be deduplicated."""
        return f"{self.run_id}:{self.step_id}"


class ActionError(Exception):
    """An action's failure with a name that retry and catch rules can match."""

    def __init__(self, error: str, message: str = "", *, retryable: bool = True) -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error
        self.message = message
        self.retryable = retryable


class Action(Protocol):
    """An async callable: rendered params and the attempt's context in, JSON-able output out.

    Raise ActionError to fail with a named error; any other exception fails the attempt as
    ``action.crashed`` (retryable).
    """

    name: str

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any: ...


class ActionCatalog(Protocol):
    """The actions this process can run, by name."""

    def get(self, name: str) -> Action | None: ...

    def names(self) -> Iterable[str]: ...
