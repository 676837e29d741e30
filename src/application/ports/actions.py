"""Actions: what a task step runs. Built-ins and plugins implement the same interface."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import msgspec

from wfa.domain.params import Expression as Expression  # for actions' params: a JMESPath field


class ActionContext(msgspec.Struct, frozen=True, kw_only=True):
    """What an action may know about the attempt it serves."""

    run_id: str
    workflow_id: str
    step_id: str
    attempt: int
    try_number: int
    # The data the step's templates were rendered over: input, steps' outputs (and caught
    # errors), run; never secrets. Read-only: for actions that query the run (transform).
    run_context: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt of a step visit, so retried calls can be deduplicated."""
        return f"{self.run_id}:{self.step_id}"


class ActionError(Exception):
    """An action's failure with a name that retry and catch rules can match."""

    def __init__(
        self,
        error: str,
        message: str = "",
        *,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error
        self.message = message
        self.retryable = retryable
        # Seconds the far side asked us to wait (HTTP Retry-After): the next retry waits at
        # least this long, even when the step's policy would retry sooner.
        self.retry_after = retry_after


class Action(Protocol):
    """An async callable: validated params and the attempt's context in, JSON-able output out.

    ``params_type`` is the msgspec-convertible type of the params (usually a frozen
    ``msgspec.Struct``; ``dict[str, Any]`` accepts anything). Definitions are checked
    against it when they are registered, and the rendered params are converted to it
    before each call (a mismatch fails the attempt as ``params.invalid``, not retryable).
    Raise ActionError to fail with a named error; any other exception fails the attempt as
    ``action.crashed`` (retryable). Plugins provide actions through the ``wfa.actions``
    entry-point group; see docs/actions.md.
    """

    name: str
    params_type: Any

    async def __call__(self, params: Any, context: ActionContext) -> Any: ...


class ActionCatalog(Protocol):
    """The actions this process can run, by name."""

    def get(self, name: str) -> Action | None: ...

    def names(self) -> Iterable[str]: ...

    def params_types(self) -> Mapping[str, Any]:
        """Each action's name with its params type: what definitions are checked against."""
        ...
