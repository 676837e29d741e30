"""Built-in actions: noop, log, set, fail and sleep; enough to build and test any control flow."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from wfa.adapters.actions.catalog import ActionRegistry
from wfa.application.ports.actions import Action, ActionContext, ActionError

log = logging.getLogger("wfa.actions")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


class Noop:
    """Does nothing; its output is null."""

    name = "noop"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        return None


class Log:
    """Logs ``message`` (at ``level``: debug, info, warning) and returns it."""

    name = "log"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        text = params.get("message", "")
        level = params.get("level", "info")
        if level not in _LEVELS:
            raise ActionError(
                "params.invalid", f"level must be one of {sorted(_LEVELS)}", retryable=False
            )
        extra = {"run_id": context.run_id, "step_id": context.step_id}
        log.log(_LEVELS[level], text if isinstance(text, str) else repr(text), extra=extra)
        return {"message": text}


class Set:
    """Returns its (templated) params as its output: the simplest way to shape data."""

    name = "set"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        return params


class Fail:
    """Raises the named ``error``; with ``attempts: N`` only the first N tries of a visit fail.

    Params: ``error`` (default ``Failed``), ``message``, ``retryable`` (default true),
    ``attempts`` (default: every try fails). Made for tests and examples of retry and catch.
    """

    name = "fail"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        failing = params.get("attempts")
        if (
            isinstance(failing, int)
            and not isinstance(failing, bool)
            and context.try_number > failing
        ):
            return {"succeeded_on_try": context.try_number}
        raise ActionError(
            str(params.get("error", "Failed")),
            str(params.get("message", "")),
            retryable=bool(params.get("retryable", True)),
        )


MAX_SLEEP_SECONDS = 3600


class Sleep:
    """Sleeps ``seconds`` (0 to an hour), then returns them: a slow step, for tests and demos."""

    name = "sleep"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        seconds = params.get("seconds", 0)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= MAX_SLEEP_SECONDS
        ):
            raise ActionError(
                "params.invalid",
                f"seconds must be a number from 0 to {MAX_SLEEP_SECONDS}",
                retryable=False,
            )
        await asyncio.sleep(seconds)
        return {"slept": seconds}


def builtin_actions() -> list[Action]:
    return [Noop(), Log(), Set(), Fail(), Sleep()]


def default_registry() -> ActionRegistry:
    return ActionRegistry(builtin_actions())
