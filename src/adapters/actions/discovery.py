"""Find the actions installed with this process: built-ins and plugins from entry points.

A plugin is any installed distribution declaring an entry point in the ``wfa.actions`` group,
named after the action it provides::

    [project.entry-points."wfa.actions"]
    "acme.greet" = "acme_wfa.greet:Greet"

The entry point's object may be an action (an instance with ``name``, ``params_type`` and an
async ``__call__``), an action class, or a factory function; a class or a factory is called
once, with no arguments. The action's ``name`` must be the entry point's name.

Loading rules, so one broken plugin never takes a process down:

- Built-ins always win. wfa declares its own built-ins in the same group, but takes them from
  its in-code list (the composition root configures some, like ``http.request``'s allow
  list), so stale metadata of an editable install can neither hide nor shadow one.
- A plugin named like a built-in or like a plugin loaded before it (distributions in name
  order) is skipped, with a warning naming both; its code is not even imported.
- A plugin that fails to import or to build, or that is not an action, is skipped with an
  error in the log saying why. Definitions that use it are then refused as naming an
  unknown action, and a worker without it fails such steps with ``action.unknown``.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import re
from collections.abc import Iterable
from importlib.metadata import EntryPoint
from typing import Any, TypeGuard

import msgspec

from wfa.adapters.actions.catalog import ActionRegistry
from wfa.application.ports.actions import Action

GROUP = "wfa.actions"
DISTRIBUTION = "workflow-automation"

log = logging.getLogger(__name__)


class NotAnAction(Exception):
    """An entry point's object that does not keep the action interface."""


def discover_actions(
    builtins: Iterable[Action], entry_points: Iterable[EntryPoint] | None = None
) -> ActionRegistry:
    """The built-ins, then every plugin of the ``wfa.actions`` group that loads cleanly.

    ``entry_points`` defaults to those of every installed distribution (tests pass their own).
    """
    found = importlib.metadata.entry_points(group=GROUP) if entry_points is None else entry_points
    registry = ActionRegistry(builtins)
    plugins = sorted(
        (entry for entry in found if not _is_builtin_declaration(entry)),
        key=lambda entry: (_distribution(entry), entry.name),
    )
    origins: dict[str, str] = {}
    for entry in plugins:
        package = _distribution(entry) or "an unknown package"
        source = f"{entry.name!r} ({entry.value}) from {package}"
        if registry.get(entry.name) is not None:
            taken = origins.get(entry.name, "the built-in action")
            log.warning("action plugin %s skipped: its name is taken by %s", source, taken)
            continue
        action = _load(entry, source)
        if action is not None:
            registry.register(action)
            origins[entry.name] = f"the plugin {source}"
    return registry


def _load(entry: EntryPoint, source: str) -> Action | None:
    try:
        target = entry.load()
    except Exception:  # a plugin's import error is its own; it must not stop the process
        log.exception("action plugin %s skipped: it failed to import", source)
        return None
    try:
        action = _built(target)
        if _is_action(action, entry.name):
            return action
    except NotAnAction as error:
        log.error("action plugin %s skipped: %s", source, error)
    except Exception as error:
        log.exception("action plugin %s skipped: building it failed: %s", source, error)
    return None


def _built(target: Any) -> Any:
    """An action as it is, or what a class or factory makes of it when called without args."""
    is_action = hasattr(target, "params_type") and not isinstance(target, type)
    if is_action or not callable(target):
        return target
    return target()


def _is_action(action: Any, expected_name: str) -> TypeGuard[Action]:
    """True, or NotAnAction saying what is wrong."""
    name = getattr(action, "name", None)
    if not isinstance(name, str) or not name:
        raise NotAnAction("it has no 'name' (the action's name, a non-empty string)")
    if name != expected_name:
        raise NotAnAction(f"it is named {name!r}; the entry point must be named the same")
    if not hasattr(action, "params_type"):
        raise NotAnAction("it has no 'params_type' (a msgspec type; dict[str, Any] for any)")
    try:
        msgspec.inspect.type_info(action.params_type)
    except (TypeError, ValueError) as error:
        raise NotAnAction(f"its params_type is not a type msgspec can convert: {error}") from None
    call = type(action).__call__  # an instance's async __call__ is looked up on its class
    if not (inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(action)):
        raise NotAnAction("it is not an async callable: (params, context) -> output")
    return True


def _is_builtin_declaration(entry: EntryPoint) -> bool:
    return _distribution(entry) == DISTRIBUTION


def _distribution(entry: EntryPoint) -> str:
    """The declaring distribution's normalized name ('' when unknown)."""
    dist = entry.dist
    return re.sub(r"[-_.]+", "-", dist.name).lower() if dist is not None else ""
