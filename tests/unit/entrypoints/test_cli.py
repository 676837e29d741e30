"""The wfa command line as a user meets it: output, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wfa.entrypoints.cli import main

EXAMPLE = Path(__file__).parents[3] / "examples" / "order-created.yaml"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_validate_accepts_the_example(capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "valid ('order-created', 6 steps)" in capsys.readouterr().out


def test_validate_lists_every_problem_and_exits_1(tmp_path, capsys):
    path = write(
        tmp_path,
        "bad.json",
        json.dumps(
            {
                "name": "bad",
                "steps": [
                    {"id": "a", "type": "task", "action": "nope", "next": "ghost"},
                    {"id": "a", "type": "succeed"},
                ],
            }
        ),
    )
    assert main(["validate", path]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"wfa: {path}: invalid definition, 3 problems:"
    assert sorted(err[1:]) == sorted(
        [
            "  steps[0].next: unknown step 'ghost'",
            "  steps[0].action: unknown action 'nope'; did you mean 'noop'? (known: fail, "
            "http.request, log, noop, set, sleep, transform)",
            "  steps[1].id: duplicate step id 'a' (first at steps[0])",
        ]
    )


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("missing.yaml", None, "no such file"),
        ("broken.yaml", "name: x\nsteps: [\n", "not valid YAML at line 3"),
        ("broken.json", '{"name": ', "not valid JSON at line 1"),
    ],
)
def test_unreadable_files_give_one_line_and_exit_2(tmp_path, capsys, name, text, expected):
    path = str(tmp_path / name) if text is None else write(tmp_path, name, text)
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"wfa: {path}: ")
    assert expected in err


def test_run_prints_the_timeline_and_result(capsys):
    code = main(["run", str(EXAMPLE), "--virtual-time", "--input", '{"order_id": 7, "total": 500}'])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line.split() for line in out.splitlines()]
    assert [
        "fetch",
        "1",
        "failed",
        "+0.000s",
        "0.000s",
        "http.status.5xx:",
        "upstream",
        "busy",
    ] in lines
    assert [
        "fetch",
        "2",
        "failed",
        "+1.000s",
        "0.000s",
        "http.status.5xx:",
        "upstream",
        "busy",
    ] in lines
    assert ["big", "-", "choice", "+3.000s", "->", "notify"] in lines
    assert "succeeded after 3.000s" in out
    assert 'output: {"order": 7, "big": true}' in out


def test_run_exits_1_when_the_run_fails_and_says_why(tmp_path, capsys):
    path = write(
        tmp_path,
        "fails.yaml",
        "name: f\nsteps:\n  - {id: x, type: fail, error: Nope, cause: 'because {{ input.why }}'}\n",
    )
    assert main(["run", path, "--input", '{"why": "reasons"}']) == 1
    assert "error at step 'x': Nope: because reasons" in capsys.readouterr().out


def test_run_json_prints_the_whole_run(capsys):
    assert main(["run", str(EXAMPLE), "--virtual-time", "--json", "--input", '{"total": 1}']) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run"]["status"] == "succeeded"
    assert [a["status"] for a in data["attempts"]][:3] == ["failed", "failed", "succeeded"]
    assert data["history"][0]["type"] == "run.created"


LOOP = """name: loop
steps:
  - {id: work, type: task, action: log, params: {message: again}, catch: [{next: stop}]}
  - {id: pause, type: wait, seconds: 0, next: work}
  - {id: stop, type: fail}
"""


def test_a_looping_run_ends_on_the_history_budget_the_environment_sets(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("WFA_RUN_MAX_EVENTS", "60")
    path = write(tmp_path, "loop.yaml", LOOP.replace("seconds: 0", "seconds: 3600"))
    assert main(["run", path, "--virtual-time", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["run"]["status"] == "failed"
    assert data["run"]["error"]["error"] == "run.history_limit"
    assert len(data["history"]) == 60
    assert data["history"][-1]["type"] == "run.failed"


def test_a_workflow_may_lower_the_budget_and_the_timeline_says_why(tmp_path, capsys):
    path = write(tmp_path, "loop.yaml", LOOP + "limits: {max_events: 25}\n")
    assert main(["run", path]) == 1
    out = capsys.readouterr().out
    assert "run.history_limit: the run's history reached its limit of 25 events" in out


def test_a_bad_history_budget_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WFA_RUN_MAX_EVENTS", "0")
    assert main(["run", write(tmp_path, "loop.yaml", LOOP)]) == 2
    assert capsys.readouterr().err == (
        "wfa: WFA_RUN_MAX_EVENTS: must be between 2 and 2147483647, got 0\n"
    )


def test_run_applies_the_payload_limits_the_environment_sets(capsys, monkeypatch):
    monkeypatch.setenv("WFA_MAX_PAYLOAD_BYTES", "2048")
    big = json.dumps({"order_id": 1, "note": "x" * 3000})
    assert main(["run", str(EXAMPLE), "--input", big, "--virtual-time"]) == 2
    err = capsys.readouterr().err
    assert "over the limit of 2048 bytes" in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("WFA_MAX_JSON_DEPTH", "6")  # the definition nests 5 deep: it passes
    deep = json.dumps({"order_id": 1, "total": 5, "a": [[[[[[1]]]]]]})
    assert main(["run", str(EXAMPLE), "--input", deep, "--virtual-time"]) == 2
    assert "deeper than 6 levels" in capsys.readouterr().err


def test_run_with_bad_input_json_exits_2(capsys):
    assert main(["run", str(EXAMPLE), "--input", "{nope"]) == 2
    assert capsys.readouterr().err.startswith("wfa: --input is not valid JSON")


def test_run_of_an_invalid_definition_exits_1(tmp_path, capsys):
    path = write(tmp_path, "bad.yaml", "name: x\nsteps: []\n")
    assert main(["run", path]) == 1
    assert "steps: a workflow needs a non-empty array of steps" in capsys.readouterr().err


def test_the_installed_console_script_runs():
    wfa = Path(sys.executable).parent / "wfa"
    result = subprocess.run(
        [str(wfa), "validate", str(EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ('{"a": "\\u0000"}', "wfa: --input: the run's input holds a NUL character"),
        ("[" * 5000 + "]" * 5000, "wfa: --input nests arrays and objects deeper than 64"),
    ],
)
def test_run_with_an_input_no_store_keeps_exits_2_in_one_line(capsys, given, said):
    assert main(["run", str(EXAMPLE), "--input", given]) == 2
    err = capsys.readouterr().err
    assert err.startswith(said)
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("deep.json", "[" * 5000 + "]" * 5000, "nests arrays and objects deeper than 64"),
        ("deep.yaml", "a: " + "[" * 5000 + "]" * 5000, "nests arrays and objects deeper than 64"),
        (  # block style: nested by indentation, no brackets to count
            "block.yaml",
            "".join(f"{'  ' * level}k{level}:\n" for level in range(200)) + " " * 400 + "v: 1\n",
            "nests arrays and objects deeper than 64",
        ),
        ("nul.json", '{"name": "x\\u0000", "steps": []}', "the definition holds a NUL character"),
    ],
)
def test_run_of_a_definition_file_too_deep_or_with_nul_is_one_line(
    tmp_path, capsys, name, text, said
):
    path = write(tmp_path, name, text)
    assert main(["run", path]) in (1, 2)
    err = capsys.readouterr().err
    assert said in err
    assert len(err.strip().splitlines()) == 1
