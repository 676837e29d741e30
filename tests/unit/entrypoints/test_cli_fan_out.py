"""``wfa run`` on parallel and map steps: every example validates, children are shown indented."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfa.entrypoints.cli import main

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_every_example_validates(example, capsys):
    assert main(["validate", str(example)]) == 0, capsys.readouterr()


def test_the_timeline_shows_each_branch_indented_under_its_step(capsys):
    example = Path(__file__).parents[3] / "examples" / "order-checks.yaml"
    order = '{"order": {"sku": "A-1", "quantity": 2, "total": 120}}'
    assert main(["run", str(example), "--virtual-time", "--input", order]) == 0
    lines = capsys.readouterr().out.splitlines()
    steps = [line.split()[0] if line.strip() else "" for line in lines]
    at = steps.index("checks")
    assert [line[: len(line) - len(line.lstrip())] for line in lines[at : at + 6]] == [
        "  ",
        "    ",
        "      ",
        "      ",
        "    ",
        "      ",
    ]
    assert steps[at : at + 7] == [
        "checks",
        "stock",
        "look-up",
        "enough",
        "fraud",
        "score",
        "decide",
    ]
    assert lines[-1] == (
        'output: {"decision": "accepted", "checks": {"stock": true, "fraud": "low"}}'
    )


def test_a_long_map_shows_its_first_iterations_and_counts_the_rest(tmp_path, capsys):
    definition = tmp_path / "many.yaml"
    definition.write_text(
        "name: many\n"
        "steps:\n"
        "  - id: each\n"
        "    type: map\n"
        "    items: '{{ input }}'\n"
        "    steps: [{id: echo, type: task, action: set, params: {v: '{{ item }}'}}]\n"
    )
    assert main(["run", str(definition), "--virtual-time", "--input", str(list(range(25)))]) == 0
    out = capsys.readouterr().out
    assert "[0]" in out
    assert "[19]" in out
    assert "[20]" not in out
    assert "… 5 more" in out
    assert out.splitlines()[-1] == "output: " + str([{"v": i} for i in range(25)]).replace("'", '"')
