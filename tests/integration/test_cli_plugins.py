"""An action plugin as a user installs it: ``wfa validate`` and ``wfa run`` find and use it.

The plugin is "installed" in a temporary directory named by PYTHONPATH (never the shared
virtualenv), and ``wfa`` runs in a fresh process, so discovery starts from nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugin_site import install_test_plugin

WFA = str(Path(sys.executable).parent / "wfa")


@pytest.fixture
def wfa(tmp_path):
    site = install_test_plugin(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(site), "WFA_LOG_FORMAT": "text"}
    env.pop("WFA_DATABASE_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [WFA, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    return run


def definition(tmp_path: Path, params: dict[str, object]) -> str:
    steps = [
        {"id": "greet", "type": "task", "action": "testplugin.greet", "params": params},
        {"id": "shape", "type": "task", "action": "transform",
         "params": {"mapping": {"said": "steps.greet.output.greeting", "to": "input.who"}}},
    ]  # fmt: skip
    path = tmp_path / "greeter.json"
    path.write_text(json.dumps({"name": "greeter", "steps": steps}))
    return str(path)


def test_validate_knows_the_plugin_and_its_params(wfa, tmp_path):
    good = wfa("validate", definition(tmp_path, {"name": "{{ input.who }}"}))
    assert (good.returncode, good.stdout.strip()) == (
        0,
        f"{tmp_path}/greeter.json: valid ('greeter', 2 steps)",
    )
    bad = wfa("validate", definition(tmp_path, {"name": "Ada", "punctuation": 1}))
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[1:] == [
        "  steps[0].params.punctuation: expected one of '!', '?', '.', got an integer"
    ]


def test_run_uses_the_plugin_and_prints_its_output(wfa, tmp_path):
    path = definition(tmp_path, {"name": "{{ input.who }}"})
    done = wfa("run", path, "--input", '{"who": "Ada"}', "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run"]["output"] == {"said": "Hello, Ada!", "to": "Ada"}
