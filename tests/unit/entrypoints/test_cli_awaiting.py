"""``wfa run`` hands a waiting run the signals and callbacks given on the command line."""

from __future__ import annotations

from pathlib import Path

from wfa.entrypoints.cli import main

REFUND = Path(__file__).parents[3] / "examples" / "refund-approval.yaml"
LARGE = '{"order": "A-17", "amount": 250}'


def test_a_callback_given_on_the_command_line_answers_the_waiting_step(capsys):
    code = main(
        [
            "run",
            str(REFUND),
            "--virtual-time",
            "--input",
            LARGE,
            "--callback",
            'ask={"approved": true, "note": "ok"}',
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "awaited callback" in out
    assert 'output: {"order": "A-17", "refunded": 250, "note": "ok"}' in out


def test_without_an_answer_the_wait_times_out_and_the_catch_routes_the_run(capsys):
    assert main(["run", str(REFUND), "--virtual-time", "--input", LARGE]) == 1
    out = capsys.readouterr().out
    assert "callback.timeout" in out
    assert "error at step 'refused': RefundRefused" in out


def test_signals_are_handed_over_in_order_as_the_run_awaits_them(tmp_path, capsys):
    definition = tmp_path / "two.yaml"
    definition.write_text(
        "name: two\n"
        "steps:\n"
        "  - {id: first, type: await, signal: go, timeout: 60}\n"
        "  - {id: second, type: await, signal: go, timeout: 60}\n"
        "  - {id: done, type: succeed, output: '{{ [steps.first.output, steps.second.output] }}'}\n"
    )
    args = ["run", str(definition), "--virtual-time", "--signal", "go=1", "--signal", 'go={"n": 2}']
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "awaited signal 'go'" in out
    assert 'output: [1, {"n": 2}]' in out


def test_a_malformed_signal_option_is_one_line_and_exit_2(capsys):
    assert main(["run", str(REFUND), "--signal", "paid"]) == 2
    assert capsys.readouterr().err.strip() == "wfa: --signal takes NAME=JSON, got 'paid'"
    assert main(["run", str(REFUND), "--signal", "paid={"]) == 2
    assert "--signal paid is not valid JSON" in capsys.readouterr().err


SECRETIVE = (
    "name: secretive\n"
    "steps:\n"
    "  - {id: call, type: task, action: set, params: {auth: '{{ secrets.TOKEN }}'}}\n"
)


def test_a_local_run_takes_its_secrets_from_the_command_line_or_a_file(tmp_path, capsys):
    definition = tmp_path / "s.yaml"
    definition.write_text(SECRETIVE)
    assert main(["run", str(definition), "--secret", "TOKEN=abc123"]) == 0
    out = capsys.readouterr().out
    assert 'output: {"auth": "***"}' in out, "used, and redacted from the output"
    assert "abc123" not in out
    secrets = tmp_path / "secrets.env"
    secrets.write_text("TOKEN=from-file\n")
    assert main(["run", str(definition), "--secrets-file", str(secrets)]) == 0


def test_a_missing_secret_says_how_to_give_one_and_a_bad_option_never_echoes_it(tmp_path, capsys):
    definition = tmp_path / "s.yaml"
    definition.write_text(SECRETIVE)
    assert main(["run", str(definition)]) == 1
    err = capsys.readouterr().err
    assert "--secret NAME=VALUE or --secrets-file" in err
    assert main(["run", str(definition), "--secret", "hunter2"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "wfa: --secret takes NAME=VALUE"
    assert main(["run", str(definition), "--secrets-file", str(tmp_path / "nope")]) == 2
