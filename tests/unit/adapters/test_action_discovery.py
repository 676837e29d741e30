"""Plugins found through the ``wfa.actions`` entry points, and what happens when one misbehaves.

The test plugin (tests/plugins/wfa_test_plugin) is "installed" into a temporary directory put
on sys.path: importlib.metadata reads its dist-info there as it would in site-packages.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from tests.plugin_site import add_distribution, install_test_plugin
from wfa.adapters.actions.builtin import Log, builtin_actions, default_registry
from wfa.adapters.actions.discovery import GROUP, discover_actions
from wfa.domain.errors import InvalidDefinition
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine

PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"
BUILTINS = {action.name for action in builtin_actions()}
GREET = "testplugin.greet"

ODD_ACTIONS = """
from typing import Any


class Named:
    params_type: Any = dict[str, Any]

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, params: Any, context: Any) -> Any:
        return {"by": self.name}


class Sync:
    name = "odd.sync"
    params_type: Any = dict[str, Any]

    def __call__(self, params: Any, context: Any) -> Any:
        return None


class Untyped:
    name = "odd.untyped"
    params_type = object()

    async def __call__(self, params: Any, context: Any) -> Any:
        return None


def make_factory() -> Named:
    return Named("odd.factory")


def explode() -> Named:
    raise RuntimeError("no configuration")


instance = Named("odd.instance")
misnamed = Named("something.else")
nameless = object()
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path holding the installed test plugin."""
    site = install_test_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for module in ("wfa_test_plugin", "odd_actions"):
        sys.modules.pop(module, None)


def write_odd_actions(site: Path) -> None:
    (site / "odd_actions.py").write_text(dedent(ODD_ACTIONS))
    importlib.invalidate_caches()  # the directory was on sys.path before the module existed


def greeting(params: dict[str, object]) -> dict[str, object]:
    step = {"id": "greet", "type": "task", "action": GREET, "params": params}
    return {"name": "greeter", "steps": [step]}


def problems(refused: pytest.ExceptionInfo[InvalidDefinition]) -> list[str]:
    return [str(problem) for problem in refused.value.problems]


def skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]


@pytest.mark.usefixtures("site")
def test_an_installed_plugin_is_found_next_to_every_built_in():
    assert set(default_registry().names()) == BUILTINS | {GREET}


@pytest.mark.usefixtures("site")
async def test_a_definition_using_the_plugin_is_checked_against_its_params():
    engine = LocalEngine.virtual()
    workflow = await engine.add_workflow(greeting({"name": "{{ input.who }}"}))
    assert workflow.definition.steps[0].id == "greet"
    with pytest.raises(InvalidDefinition) as refused:
        await engine.add_workflow(greeting({"who": "Ada", "punctuation": "~"}))
    assert problems(refused) == [
        "steps[0].params.who: unknown field",
        "steps[0].params: missing required field 'name'",
        "steps[0].params.punctuation: expected one of '!', '?', '.', got '~'",
    ]


@pytest.mark.usefixtures("site")
async def test_a_run_gets_the_plugins_output_and_its_named_errors():
    engine = LocalEngine.virtual()
    done = await engine.run_once(greeting({"name": "{{ input }}", "punctuation": "?"}), "Ada")
    assert done.run.output == {"greeting": "Hello, Ada?"}
    failed = await engine.run_once(greeting({"name": "{{ input }}"}), "  ")
    assert failed.run.status is RunStatus.FAILED
    assert failed.run.error is not None
    assert (failed.run.error.error, failed.run.error.message) == (
        "testplugin.nobody",
        "there is nobody to greet",
    )


async def test_without_the_plugin_its_action_is_unknown():
    with pytest.raises(InvalidDefinition) as refused:
        await LocalEngine.virtual().add_workflow(greeting({"name": "Ada"}))
    assert problems(refused) == [
        f"steps[0].action: unknown action '{GREET}' "
        "(known: fail, http.request, log, noop, set, sleep, transform)"
    ]


def test_a_plugin_named_like_a_built_in_is_skipped_without_being_imported(site, caplog):
    add_distribution(site, "shadow-plugin", {"log": "wfa_shadow_does_not_exist:Log"})
    registry = default_registry()
    assert isinstance(registry.get("log"), Log)
    assert registry.get(GREET) is not None
    assert skipped(caplog) == [
        "action plugin 'log' (wfa_shadow_does_not_exist:Log) from shadow-plugin skipped: "
        "its name is taken by the built-in action"
    ]


def test_of_two_plugins_with_one_name_the_first_package_by_name_wins(site, caplog):
    add_distribution(site, "zz-copycat", {GREET: "wfa_copycat_does_not_exist:Greet"})
    assert default_registry().get(GREET) is not None
    assert skipped(caplog) == [
        f"action plugin '{GREET}' (wfa_copycat_does_not_exist:Greet) from zz-copycat skipped: "
        f"its name is taken by the plugin '{GREET}' (wfa_test_plugin:Greet) from wfa-test-plugin"
    ]


def test_a_plugin_that_fails_to_import_is_skipped_and_logged_with_its_error(site, caplog):
    add_distribution(site, "broken-plugin", {"broken.thing": "wfa_broken_does_not_exist:Thing"})
    registry = default_registry()
    assert set(registry.names()) == BUILTINS | {GREET}
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == (
        "action plugin 'broken.thing' (wfa_broken_does_not_exist:Thing) from broken-plugin "
        "skipped: it failed to import"
    )
    assert record.exc_info is not None
    assert "No module named 'wfa_broken_does_not_exist'" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("name", "target"),
    [("odd.factory", "odd_actions:make_factory"), ("odd.instance", "odd_actions:instance")],
)
def test_an_entry_point_may_name_an_action_or_a_factory_to_call(site, name, target):
    write_odd_actions(site)
    add_distribution(site, "odd-plugin", {name: target})
    action = default_registry().get(name)
    assert action is not None
    assert action.name == name


@pytest.mark.parametrize(
    ("name", "target", "reason"),
    [
        ("odd.sync", "odd_actions:Sync", "it is not an async callable"),
        ("odd.untyped", "odd_actions:Untyped", "its params_type is not a type msgspec can"),
        ("odd.misnamed", "odd_actions:misnamed", "it is named 'something.else'; the entry"),
        ("odd.nameless", "odd_actions:nameless", "it has no 'name'"),
        ("odd.explode", "odd_actions:explode", "building it failed: no configuration"),
    ],
)
def test_what_is_not_an_action_is_skipped_saying_why(site, caplog, name, target, reason):
    write_odd_actions(site)
    add_distribution(site, "odd-plugin", {name: target})
    assert default_registry().get(name) is None
    (message,) = skipped(caplog)
    assert message.startswith(f"action plugin '{name}' ({target}) from odd-plugin skipped: ")
    assert reason in message


def test_built_ins_come_from_the_code_even_when_the_metadata_is_stale(tmp_path):
    # An editable install made before a built-in was added declares fewer, or none.
    assert set(discover_actions(builtin_actions(), entry_points=[]).names()) == BUILTINS
    add_distribution(tmp_path, "workflow-automation", {"log": "wfa.gone.module:Log"})
    (ours,) = importlib.metadata.distributions(path=[str(tmp_path)])
    configured = Log()
    registry = discover_actions([configured], entry_points=ours.entry_points)
    assert registry.get("log") is configured  # the composition root's instance, not a new one
    assert list(registry.names()) == ["log"]


def test_the_declared_built_ins_are_exactly_the_built_ins():
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][GROUP]
    assert set(declared) == BUILTINS
    for name, target in declared.items():
        loaded = importlib.metadata.EntryPoint(name=name, value=target, group=GROUP).load()
        assert loaded.name == name
