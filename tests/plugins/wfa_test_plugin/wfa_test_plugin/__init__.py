"""A wfa action plugin: ``testplugin.greet`` greets someone by name."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from wfa.application.ports.actions import ActionContext, ActionError


class GreetParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    punctuation: Literal["!", "?", "."] = "!"


class Greet:
    """Output ``{"greeting": "Hello, <name>!"}``; fails ``testplugin.nobody`` for a blank name."""

    name = "testplugin.greet"
    params_type: Any = GreetParams

    async def __call__(self, params: GreetParams, context: ActionContext) -> Any:
        if not params.name.strip():
            raise ActionError("testplugin.nobody", "there is nobody to greet", retryable=False)
        return {"greeting": f"Hello, {params.name}{params.punctuation}"}
