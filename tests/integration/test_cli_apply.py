"""``wfa apply FILE|DIR`` against a real ``wfa serve``: idempotent, versioned only on change,
a dry run that writes nothing, pruning, and all-or-nothing checking of the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration import client_server
from wfa.client import Client
from wfa.entrypoints.cli import main

server = client_server.server  # one wfa serve for the module
remote = client_server.remote

HOOKED = """\
name: hooked
trigger: {type: webhook, path: hooked, secret: s3cr3t-value-of-the-hook}
steps:
  - {id: greet, type: task, action: set, params: {hi: "{{ input.name }}"}}
"""
WAITS = """\
name: waits
trigger: {type: manual}
steps:
  - {id: pause, type: wait, seconds: 600}
"""
PLAIN = {"name": "plain", "steps": [{"id": "done", "type": "succeed"}]}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "hooked.yaml").write_text(HOOKED)
    (tmp_path / "waits.yml").write_text(WAITS)
    (tmp_path / "plain.json").write_text(json.dumps(PLAIN))
    (tmp_path / "notes.txt").write_text("not a definition")
    return tmp_path


def versions(client: Client) -> dict[str, int]:
    return {w.name: w.version for w in client.iter_workflows()}


def test_a_folder_applied_twice_is_unchanged_the_second_time(remote, folder, capsys):
    assert main(["apply", str(folder)]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[:3]] == ["created"] * 3
    assert out.splitlines()[-1] == "3 created, 0 updated, 0 unchanged"
    assert versions(remote) == {"hooked": 1, "waits": 1, "plain": 1}

    assert main(["apply", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "0 created, 0 updated, 3 unchanged"
    assert "unchanged hooked" in out, "a webhook secret, never read back, is no change"
    assert versions(remote) == {"hooked": 1, "waits": 1, "plain": 1}


def test_a_changed_file_makes_one_new_version(remote, folder, capsys):
    assert main(["apply", str(folder)]) == 0
    (folder / "waits.yml").write_text(WAITS.replace("600", "900"))
    capsys.readouterr()

    assert main(["apply", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "0 created, 1 updated, 2 unchanged"
    assert "updated waits" in out
    assert versions(remote) == {"hooked": 1, "waits": 2, "plain": 1}
    assert remote.get_workflow("waits").definition["steps"][0]["seconds"] == 900


def test_a_dry_run_shows_the_diff_and_writes_nothing(remote, folder, capsys):
    assert main(["apply", str(folder / "waits.yml")]) == 0
    (folder / "waits.yml").write_text(WAITS.replace("600", "900"))
    capsys.readouterr()

    assert main(["apply", "--dry-run", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "--- waits (server, version 1)" in out
    assert "-  seconds: 600.0" in out.splitlines()
    assert "+  seconds: 900.0" in out.splitlines()
    assert "would create plain" in out
    assert "+name: plain" in out.splitlines()
    assert out.splitlines()[-1] == "2 to create, 1 to update, 0 unchanged; dry run: nothing written"
    assert versions(remote) == {"waits": 1}


def test_prune_deletes_what_no_file_names_and_a_dry_run_only_lists_it(remote, folder, capsys):
    extra = remote.create_workflow({**PLAIN, "name": "stray"})
    assert main(["apply", str(folder)]) == 0
    assert f"not in the files: stray ({extra.id}); --prune deletes it" in capsys.readouterr().out

    assert main(["apply", "--prune", "--dry-run", str(folder)]) == 0
    assert f"would delete stray ({extra.id})" in capsys.readouterr().out
    assert "stray" in versions(remote)

    assert main(["apply", "--prune", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"delete stray ({extra.id}): no file names it" in out
    assert out.splitlines()[-1] == "0 created, 0 updated, 3 unchanged, 1 deleted"
    assert set(versions(remote)) == {"hooked", "waits", "plain"}


def test_one_invalid_file_applies_nothing_and_every_problem_is_named(remote, folder, capsys):
    broken = {
        "name": "broken",
        "steps": [{"id": "a", "type": "task", "action": "log", "next": "x"}],
    }
    (folder / "broken.json").write_text(json.dumps(broken))
    (folder / "garbled.yaml").write_text("name: [unclosed\n")

    assert main(["apply", str(folder)]) == 2, "a file that is not YAML: as wfa validate"
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.splitlines()
    assert f"wfa: {folder / 'broken.json'}: invalid definition, 1 problem:" in err
    assert any("steps[0].next" in line and "'x'" in line for line in err)
    assert any(line.startswith(f"wfa: {folder / 'garbled.yaml'}: not valid YAML") for line in err)
    assert versions(remote) == {}, "nothing was applied"

    (folder / "garbled.yaml").unlink()
    assert main(["apply", str(folder)]) == 1, "an invalid definition"
    assert capsys.readouterr().err.startswith(f"wfa: {folder / 'broken.json'}: invalid")
    assert versions(remote) == {}


def test_a_file_the_server_refuses_is_reported_and_the_others_still_apply(remote, folder, capsys):
    unknown = {"name": "unknown", "steps": [{"id": "a", "type": "task", "action": "no.such"}]}
    (folder / "unknown.json").write_text(json.dumps(unknown))

    assert main(["apply", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"wfa: {folder / 'unknown.json'}: refused by the server" in err
    assert "no.such" in err
    assert versions(remote) == {"hooked": 1, "waits": 1, "plain": 1}


def test_json_output_says_what_happened_to_each_workflow(remote, folder, capsys):
    assert main(["apply", "--json", str(folder)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["dry_run"] is False
    assert {(w["name"], w["outcome"], w["version"]) for w in first["workflows"]} == {
        ("hooked", "created", 1),
        ("waits", "created", 1),
        ("plain", "created", 1),
    }
    assert main(["apply", "--json", "--prune", str(folder)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert {w["outcome"] for w in second["workflows"]} == {"unchanged"}
    assert second["deleted"] == []


def test_a_folder_without_definitions_is_a_usage_error(remote, tmp_path, capsys):
    assert main(["apply", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err == f"wfa: {tmp_path}: no definition files (*.json, *.yaml, *.yml)\n"
    )


def test_each_problem_of_a_refused_file_is_a_line_with_its_path(remote, folder, capsys):
    """The server alone knows its actions: it refuses both steps, each at its path."""
    unknown = {
        "name": "unknown",
        "steps": [
            {"id": "a", "type": "task", "action": "no.such", "next": "b"},
            {"id": "b", "type": "task", "action": "nor.this"},
        ],
    }
    (folder / "unknown.json").write_text(json.dumps(unknown))

    assert main(["apply", str(folder)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"wfa: {folder / 'unknown.json'}: refused by the server, 2 problems:"
    assert err[1].startswith("  steps[0].action: unknown action 'no.such' (known: ")
    assert err[2].startswith("  steps[1].action: unknown action 'nor.this' (known: ")
    assert len(err) == 3

    assert main(["apply", "--json", str(folder)]) == 1
    refused = next(
        w for w in json.loads(capsys.readouterr().out)["workflows"] if w["name"] == "unknown"
    )
    assert refused["outcome"] == "failed"
    assert [p.split(":")[0] for p in refused["problems"]] == ["steps[0].action", "steps[1].action"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("WFA_PORT", "abc"), ("WFA_LOG_FORMAT", "xml"), ("WFA_DATABASE_URL", "nope://")],
)
def test_the_servers_own_settings_are_none_of_applys_business(
    remote, folder, monkeypatch, capsys, variable, value
):
    monkeypatch.setenv(variable, value)
    assert main(["apply", "--dry-run", str(folder)]) == 0
    assert "3 to create" in capsys.readouterr().out


def test_a_short_api_key_is_the_servers_to_judge_not_the_bootstrap_rule(
    remote, folder, monkeypatch, capsys
):
    monkeypatch.setenv("WFA_API_KEY", "short")
    assert main(["apply", str(folder)]) == 1
    assert capsys.readouterr().err.startswith("wfa: the server refused the key in WFA_API_KEY")


def test_a_bad_definition_limit_is_still_named(remote, folder, monkeypatch, capsys):
    monkeypatch.setenv("WFA_MAX_STEPS", "abc")
    assert main(["apply", str(folder)]) == 2
    assert capsys.readouterr().err == "wfa: WFA_MAX_STEPS: 'abc' is not a whole number\n"
    monkeypatch.setenv("WFA_MAX_STEPS", "1")
    (folder / "two.json").write_text(
        json.dumps(
            {
                "name": "two",
                "steps": [{"id": "a", "type": "pass", "next": "b"}, {"id": "b", "type": "succeed"}],
            }
        )
    )
    assert main(["apply", str(folder)]) == 1
    assert "WFA_MAX_STEPS" in capsys.readouterr().err


def test_prune_with_one_file_is_refused_and_deletes_nothing(remote, folder, capsys):
    other = remote.create_workflow({**PLAIN, "name": "other"})
    assert main(["apply", "--prune", str(folder / "waits.yml")]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"wfa: --prune needs a folder of definitions; {folder / 'waits.yml'} is not a folder\n"
    )
    assert captured.out == ""
    assert versions(remote) == {"other": other.version}, "nothing deleted, nothing applied"
