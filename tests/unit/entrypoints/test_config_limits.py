"""The definition limits and the expression budget: read from their variables, wired in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wfa.domain.errors import InvalidDefinition
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET
from wfa.domain.limits import DefinitionLimits
from wfa.entrypoints.cli import main
from wfa.entrypoints.config import ConfigError, load_settings
from wfa.entrypoints.container import Container


def settings(**env: str):
    return load_settings(env, env_file=None)


def test_defaults() -> None:
    loaded = settings()
    assert loaded.definition_limits == DefinitionLimits()
    assert loaded.definition_limits.max_steps == 1_000
    assert loaded.expression_budget == DEFAULT_EXPRESSION_BUDGET


def test_each_limit_reads_its_variable() -> None:
    loaded = settings(
        WFA_MAX_STEPS="20",
        WFA_MAX_CHOICES="3",
        WFA_MAX_CATCHES="4",
        WFA_MAX_TRIGGERS="5",
        WFA_MAX_ERROR_NAMES="6",
        WFA_MAX_EXPRESSION_LENGTH="700",
        WFA_EXPRESSION_BUDGET="5000",
    )
    assert loaded.definition_limits == DefinitionLimits(
        max_steps=20,
        max_choices=3,
        max_catches=4,
        max_triggers=5,
        max_error_names=6,
        max_expression_length=700,
    )
    assert loaded.expression_budget == 5000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WFA_MAX_STEPS": "many"}, "WFA_MAX_STEPS: 'many' is not a whole number"),
        ({"WFA_MAX_STEPS": "0"}, "WFA_MAX_STEPS: must be between 1 and 1000000, got 0"),
        ({"WFA_MAX_CHOICES": "-1"}, "WFA_MAX_CHOICES: must be between 1 and 1000000, got -1"),
        ({"WFA_EXPRESSION_BUDGET": "10"}, "WFA_EXPRESSION_BUDGET: must be between 100 and"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env, env_file=None)


async def test_the_container_hands_the_settings_to_the_engine() -> None:
    container = Container(
        settings=settings(
            WFA_DATABASE_URL="sqlite+aiosqlite:///:memory:",
            WFA_MAX_STEPS="2",
            WFA_EXPRESSION_BUDGET="300",
        )
    )
    assert container.engine_settings().expression_budget == 300
    three = {"name": "three", "steps": [{"id": f"s{n}", "type": "succeed"} for n in range(3)]}
    with pytest.raises(InvalidDefinition, match="at most 2 are allowed"):
        await container.register_workflow().execute(three)  # refused before any storage
    with pytest.raises(InvalidDefinition, match="at most 2 are allowed"):
        await container.update_workflow().execute("any", three)
    assert container.execute_step()._expression_budget == 300
    transform = container.actions().get("transform")
    assert transform is not None
    assert transform._expression_budget == 300


def test_wfa_validate_and_run_apply_the_limits_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    path = tmp_path / "three.json"
    steps = [{"id": f"s{n}", "type": "task", "action": "noop"} for n in range(3)]
    path.write_text(json.dumps({"name": "three", "steps": steps}))
    monkeypatch.setenv("WFA_MAX_STEPS", "2")
    assert main(["validate", str(path)]) == 1
    assert "steps: 3 steps; at most 2 are allowed (WFA_MAX_STEPS)" in capsys.readouterr().err
    assert main(["run", str(path)]) == 1
    assert "WFA_MAX_STEPS" in capsys.readouterr().err
    monkeypatch.setenv("WFA_MAX_STEPS", "none")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == "wfa: WFA_MAX_STEPS: 'none' is not a whole number\n"
