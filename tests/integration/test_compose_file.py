"""docker-compose.yml: valid for Docker Compose, and every role it runs is a real command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from wfa.entrypoints.cli import build_parser

COMPOSE = Path(__file__).parents[2] / "docker-compose.yml"


def test_every_wfa_service_runs_a_command_the_cli_knows():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    commands = {
        name: s["command"] for name, s in services.items() if s.get("image") == "wfa:latest"
    }
    assert set(commands) == {"migrate", "api", "worker", "scheduler"}
    parser = build_parser()
    for name, command in commands.items():
        assert parser.parse_args(command).command == command[0], name


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed"
)
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "WFA_API_KEY": "", "WFA_SECRET_KEY": ""},
    )
    assert result.returncode == 0, result.stderr
