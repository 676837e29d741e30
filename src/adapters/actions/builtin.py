"""Built-in actions: noop, log, set, fail and sleep; enough to build and test any control flow.

``builtin_actions`` lists every built-in, with transform and http.request from their modules.

Each declares its params as a Struct: definitions are checked against it when registered, and
each call gets the rendered params converted to it (see docs/actions.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Literal

import msgspec

from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.actions.discovery import discover_actions
from wfa.adapters.actions.http import HttpRequest
from wfa.adapters.actions.transform import Transform
from wfa.application.ports.actions import Action, ActionContext, ActionError
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET

log = logging.getLogger("wfa.actions")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


class NoopParams(msgspec.Struct, frozen=True):
    """None: any params given are ignored."""


class Noop:
    """Does nothing; its output is null."""

    name = "noop"
    params_type: Any = NoopParams

    async def __call__(self, params: NoopParams, context: ActionContext) -> Any:
        return None


class LogParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    message: Any = ""  # a string, or any value, logged as its repr
    level: Literal["debug", "info", "warning"] = "info"


class Log:
    """Logs ``message`` (at ``level``: debug, info, warning) and returns it."""

    name = "log"
    params_type: Any = LogParams

    async def __call__(self, params: LogParams, context: ActionContext) -> Any:
        text = params.message
        extra = {"run_id": context.run_id, "step_id": context.step_id}
        log.log(_LEVELS[params.level], text if isinstance(text, str) else repr(text), extra=extra)
        return {"message": text}


class Set:
    """Returns its (templated) params as its output: the simplest way to shape data."""

    name = "set"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        return params


class FailParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    error: Annotated[str, msgspec.Meta(min_length=1)] = "Failed"
    message: str = ""
    retryable: bool = True
    attempts: Annotated[int, msgspec.Meta(ge=0)] | None = None  # None: every try fails


class Fail:
    """Raises the named ``error``; with ``attempts: N`` only the first N tries of a visit fail.

    Params: ``error`` (default ``Failed``), ``message``, ``retryable`` (default true),
    ``attempts`` (default: every try fails). Made for tests and examples of retry and catch.
    """

    name = "fail"
    params_type: Any = FailParams

    async def __call__(self, params: FailParams, context: ActionContext) -> Any:
        if params.attempts is not None and context.try_number > params.attempts:
            return {"succeeded_on_try": context.try_number}
        raise ActionError(params.error, params.message, retryable=params.retryable)


MAX_SLEEP_SECONDS = 3600
_BOUNDS = msgspec.Meta(ge=0, le=MAX_SLEEP_SECONDS)


class SleepParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # An int stays an int in the output: {"slept": 2}, not 2.0.
    seconds: Annotated[int, _BOUNDS] | Annotated[float, _BOUNDS] = 0


class Sleep:
    """Sleeps ``seconds`` (0 to an hour), then returns them: a slow step, for tests and demos."""

    name = "sleep"
    params_type: Any = SleepParams

    async def __call__(self, params: SleepParams, context: ActionContext) -> Any:
        await asyncio.sleep(params.seconds)
        return {"slept": params.seconds}


def builtin_actions(
    http: HttpRequest | None = None, expression_budget: int = DEFAULT_EXPRESSION_BUDGET
) -> list[Action]:
    """The built-ins; ``http`` is the process's configured ``http.request`` (default: guarded),
    ``expression_budget`` what one ``transform`` call's expressions may spend."""
    transform = Transform(expression_budget)
    return [Noop(), Log(), Set(), Fail(), Sleep(), transform, http or HttpRequest()]


def default_registry(
    http: HttpRequest | None = None, expression_budget: int = DEFAULT_EXPRESSION_BUDGET
) -> ActionRegistry:
    """Every action this process runs: the built-ins, then the installed plugins."""
    return discover_actions(builtin_actions(http, expression_budget))
