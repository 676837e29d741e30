"""The actions a process can run, registered by name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wfa.application.ports.actions import Action


class ActionRegistry:
    """Actions by name; a second action under a taken name is refused (ValueError)."""

    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.register(action)

    def register(self, action: Action) -> None:
        if action.name in self._actions:
            raise ValueError(f"an action named {action.name!r} is already registered")
        self._actions[action.name] = action

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    def names(self) -> Iterable[str]:
        return self._actions.keys()

    def params_types(self) -> Mapping[str, Any]:
        return {name: action.params_type for name, action in self._actions.items()}
