"""``wfa runs …`` and ``wfa workflows …`` against a real ``wfa serve``, on real runs: what an
operator sees, what a script reads with --json, and the one-line errors."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.integration import client_server
from tests.integration.client_server import KEY, raw
from tests.integration.serve_process import free_port
from wfa.client import Client
from wfa.entrypoints.cli import main

server = client_server.server  # one wfa serve for the module
remote = client_server.remote

APPROVE = {
    "name": "approve",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "ask", "type": "await", "signal": "approval", "timeout": 600},
        {"id": "done", "type": "succeed", "output": "{{ steps.ask.output }}"},
    ],
}
BOOM = {
    "name": "boom",
    "trigger": {"type": "manual"},
    "steps": [
        {
            "id": "explode",
            "type": "task",
            "action": "fail",
            "params": {"error": "Boom", "message": "no luck"},
            "retry": {"max_attempts": 1},
        }
    ],
}


def settled(client: Client, run_id: str, status: str) -> None:
    for event in client.follow_run(run_id):
        if event.type == "await.started" and status == "waiting":
            return
    assert client.get_run(run_id).status == status


@pytest.fixture
def runs(remote):
    """A run waiting for its signal and a failed one."""
    remote.create_workflow(APPROVE)
    remote.create_workflow(BOOM)
    waiting = remote.start_run("approve", {"order": 1}).run_id
    failed = remote.start_run("boom").run_id
    settled(remote, failed, "failed")
    settled(remote, waiting, "waiting")
    return waiting, failed


def test_list_shows_runs_and_filters_them(remote, runs, capsys):
    waiting, failed = runs
    assert main(["runs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "WORKFLOW", "STATUS", "CREATED", "STEP"]
    assert lines[1].split()[:3] == [failed, "boom", "failed"], "newest first"
    assert lines[2].split()[:3] == [waiting, "approve", "waiting"]

    assert main(["runs", "list", "--workflow", "approve"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == [waiting]
    assert main(["runs", "list", "--status", "failed", "--limit", "1"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == [failed]


def test_json_is_the_apis_json(remote, runs, capsys, server):
    _, failed = runs
    assert main(["runs", "show", "--json", failed]) == 0
    assert json.loads(capsys.readouterr().out) == raw(server, f"/api/v1/runs/{failed}")
    assert main(["runs", "list", "--json", "--workflow", "boom"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == raw(server, f"/api/v1/runs?workflow_id={listed['items'][0]['workflow_id']}")
    assert main(["workflows", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == raw(server, "/api/v1/workflows")
    assert main(["workflows", "show", "--json", "approve"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == raw(server, f"/api/v1/workflows/{shown['id']}")


def test_show_tells_each_attempt_and_the_result(remote, runs, capsys):
    waiting, failed = runs
    assert main(["runs", "show", failed]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"run {failed}  workflow 'boom' v1"
    assert out[2].split() == ["STEP", "ATTEMPT", "STATUS", "AT", "DURATION", "DETAIL"]
    assert out[3].split()[:3] == ["explode", "1", "failed"]
    assert out[3].endswith("Boom: no luck")
    assert out[-1] == "error at step 'explode': Boom: no luck"

    assert main(["runs", "show", waiting]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "waiting, step 'ask' awaiting approval"


def test_signal_resumes_the_run_and_a_repeat_with_its_key_records_nothing(remote, runs, capsys):
    waiting, _ = runs
    command = ["runs", "signal", waiting, "approval", "--payload", '{"ok": true}', "--key", "k1"]
    assert main(command) == 0
    assert capsys.readouterr().out == (
        f"signal 'approval' delivered to run {waiting}: taken by step 'ask'\n"
    )
    assert main([*command, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["duplicate"] is True
    settled(remote, waiting, "succeeded")
    assert remote.get_run(waiting).output == {"ok": True}


def test_watch_follows_the_run_live_until_it_ends(remote, runs, capsys):
    waiting, failed = runs
    timer = threading.Timer(0.5, remote.signal_run, (waiting, "approval", {"by": "ann"}))
    timer.start()
    try:
        assert main(["runs", "watch", waiting]) == 0
    finally:
        timer.join()
    captured = capsys.readouterr()
    kinds = [line.split()[1] for line in captured.out.splitlines()[:-1]]
    assert kinds[:2] == ["run.created", "run.started"]
    assert kinds[-3:] == ["signal.consumed", "step.succeeded", "run.succeeded"]
    assert captured.out.splitlines()[-1] == 'output: {"by": "ann"}'
    assert captured.err == f"run {waiting} succeeded\n"

    assert main(["runs", "watch", "--json", failed]) == 1, "a failed run exits 1"
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "run.failed"


def test_cancel_and_retry(remote, runs, capsys):
    waiting, failed = runs
    assert main(["runs", "cancel", waiting, "--reason", "not needed"]) == 0
    assert capsys.readouterr().out == f"run {waiting} cancelled\n"
    assert main(["runs", "cancel", waiting]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("wfa: ")
    assert "cancelled" in err

    assert main(["runs", "retry", failed]) == 0
    assert capsys.readouterr().out.startswith(f"run {failed} resumed from step 'explode'")
    types = [event["type"] for event in remote.iter_run_events(failed)]
    assert "run.resumed" in types


def test_workflows_show_and_delete_by_name(remote, runs, capsys):
    assert main(["workflows", "show", "boom"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("workflow 'boom'  id ")
    assert "action: fail" in out
    assert main(["workflows", "delete", "boom"]) == 0
    assert "deleted workflow 'boom'" in capsys.readouterr().out
    assert main(["workflows", "delete", "boom"]) == 1
    assert capsys.readouterr().err == "wfa: workflow 'boom' not found\n"


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("not-the-key-0123456789abcdef0123456789", "refused the key in WFA_API_KEY"),
        ("", "wants an API key: set WFA_API_KEY"),
    ],
)
def test_a_bad_key_is_one_line_naming_the_variable(
    remote, monkeypatch, capsys, tmp_path, key, said
):
    (tmp_path / "a.json").write_text(json.dumps(BOOM))
    monkeypatch.setenv("WFA_API_KEY", key)
    for command in (["runs", "list"], ["workflows", "list"], ["apply", str(tmp_path)]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert said in err


def test_a_key_short_of_scope_says_so(remote, runs, server, monkeypatch, capsys):
    made = httpx.post(
        f"{server}/api/v1/api-keys",
        json={"name": "reader", "scope": "viewer"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    monkeypatch.setenv("WFA_API_KEY", made.json()["key"])
    assert main(["runs", "cancel", runs[0]]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wfa: the key in WFA_API_KEY falls short of the scope")
    assert err.count("\n") == 1


def test_an_unreachable_server_is_one_line_naming_wfa_url(monkeypatch, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("WFA_URL", url)
    for command in (["runs", "list"], ["runs", "watch", "r1"], ["workflows", "show", "x"]):
        assert main(command) == 1
        assert capsys.readouterr().err.startswith(f"wfa: cannot reach the server at WFA_URL={url}")


def test_a_run_that_is_not_there_is_named(remote, capsys):
    for command in (["runs", "show", "nope"], ["runs", "watch", "nope"], ["runs", "retry", "nope"]):
        assert main(command) == 1
        assert capsys.readouterr().err == "wfa: run 'nope' not found\n"


def test_a_bad_payload_is_a_usage_error_before_any_request(monkeypatch, capsys):
    monkeypatch.setenv("WFA_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["runs", "signal", "r1", "go", "--payload", "{nope"]) == 2
    assert capsys.readouterr().err.startswith("wfa: --payload is not valid JSON")


def test_a_refused_signal_says_what_was_wrong(remote, runs, capsys):
    waiting, _ = runs
    assert main(["runs", "signal", waiting, "bad name!"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"wfa: Validation failed for POST /api/v1/runs/{waiting}/signals/")
    assert "; path.name: Expected `str` matching regex" in err


def test_list_by_creation_time(remote, runs, capsys):
    waiting, failed = runs
    created = remote.get_run(waiting).created_at

    def listed(*options: str) -> list[str]:
        assert main(["runs", "list", "--json", *options]) == 0
        return [run["id"] for run in json.loads(capsys.readouterr().out)["items"]]

    # Earlier tests' runs are on the server too: each test has workflows of its own.
    assert listed("--since", "1h", "--workflow", "approve") == [waiting]
    assert listed("--until", "1h", "--workflow", "approve") == []
    assert listed("--since", "2099-01-01T00:00:00Z") == []
    assert listed("--since", created.isoformat(), "--until", "2099-01-01T00:00:00+01:00") == [
        failed,
        waiting,
    ]
    just_after = (created + timedelta(microseconds=1)).isoformat()
    assert listed("--since", created.isoformat(), "--until", just_after) == [waiting]
    assert listed("--since", created.isoformat(), "--until", created.isoformat()) == [], (
        "--until is exclusive"
    )
    assert main(["runs", "list", "--since", "7d", "--workflow", "boom"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("2026-12-01T09:30:00", "has no time zone"),
        ("soon", "is neither a time like 2026-12-01T09:30:00Z nor a duration like 30m, 2h or 7d"),
        ("90", "is neither a time"),
    ],
)
def test_a_time_that_names_no_instant_is_a_usage_error(monkeypatch, capsys, value, said):
    monkeypatch.setenv("WFA_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SystemExit) as exited:
        main(["runs", "list", "--since", value])
    assert exited.value.code == 2
    assert said in capsys.readouterr().err


def test_the_client_lists_runs_by_creation_time(remote, runs):
    waiting, failed = runs
    created = remote.get_run(waiting).created_at
    assert [r.id for r in remote.list_runs(created_after=created).items] == [failed, waiting]
    just_after = created + timedelta(microseconds=1)
    found = remote.iter_runs(created_after=created, created_before=just_after)
    assert [r.id for r in found] == [waiting]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert list(remote.iter_runs(created_after=later, status="failed")) == []
