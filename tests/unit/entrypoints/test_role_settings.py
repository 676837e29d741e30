"""The roles take their settings from the environment: options are answered with the
variables to set, and each role's ``--help`` lists the settings it reads."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from wfa.domain.expression_cost import BUDGET_VARIABLE
from wfa.domain.limits import VARIABLES as LIMIT_VARIABLES
from wfa.entrypoints import config
from wfa.entrypoints.cli import main
from wfa.entrypoints.settings_catalogue import SETTINGS

README = Path(__file__).parents[3] / "README.md"


def test_an_option_given_to_serve_is_answered_with_its_variable(capsys):
    assert main(["serve", "--port", "9000"]) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "settings are environment variables: WFA_PORT=9000 wfa serve" in lines[0]


def test_an_unknown_option_still_says_where_the_settings_are(capsys):
    assert main(["worker", "--threads=4"]) == 2

    said = capsys.readouterr().err
    assert "'wfa worker' takes no options (--threads=4)" in said
    assert "see 'wfa worker --help'" in said


def test_other_commands_keep_argparse_usage_errors(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["validate", "a.json", "b.json"])
    assert exited.value.code == 2
    assert "unrecognized arguments: b.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("role", "listed", "absent"),
    [
        ("serve", ["WFA_PORT", "WFA_WORKER_CONCURRENCY", "WFA_RETENTION_MAX_AGE"], []),
        ("api", ["WFA_PORT", "WFA_RATE_LIMIT_API"], ["WFA_WORKER_CONCURRENCY"]),
        ("worker", ["WFA_WORKER_CONCURRENCY", "WFA_HTTP_ALLOW"], ["WFA_PORT"]),
        ("scheduler", ["WFA_SCHEDULE_CATCHUP", "WFA_DATABASE_URL"], ["WFA_PORT"]),
    ],
)
def test_each_role_help_lists_the_settings_it_reads_with_defaults(capsys, role, listed, absent):
    with pytest.raises(SystemExit):
        main([role, "--help"])

    shown = capsys.readouterr().out
    for name in listed:
        assert re.search(rf"^  {name} .*\(default: [^)]+\)$", shown, re.MULTILINE), name
    for name in absent:
        assert name not in shown


def test_the_catalogue_names_every_variable_the_settings_read_and_no_other():
    source = inspect.getsource(config)
    read = set(re.findall(r'"(WFA_[A-Z_]+)"', source))
    read |= set(LIMIT_VARIABLES.values()) | {BUDGET_VARIABLE}

    assert {setting.name for setting in SETTINGS} == read


def test_every_catalogued_setting_is_in_the_readme_configuration_table():
    table = README.read_text()
    assert [s.name for s in SETTINGS if f"`{s.name}`" not in table] == []


def test_the_client_side_settings_are_those_the_client_reads_and_in_the_readme():
    from wfa.entrypoints.client import api
    from wfa.entrypoints.settings_catalogue import CLIENT_SETTINGS

    read = set(re.findall(r'"(WFA_[A-Z_]+)"', inspect.getsource(api)))
    assert {setting.name for setting in CLIENT_SETTINGS} == read
    table = README.read_text()
    assert [s.name for s in CLIENT_SETTINGS if f"`{s.name}`" not in table] == []
