"""``wfa runs watch`` across a restart of the server it watches: the stream ends (the server
says so, then refuses connections), the server comes back on the same port and database,
and the watch carries on from the last event it printed to the end of the run."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.integration.serve_process import WFA, free_port, serving
from wfa.client import Client

KEY = "wfa-cli-tests-admin-key-0123456789abcdef"
APPROVE = {
    "name": "approve",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "ask", "type": "await", "signal": "approval", "timeout": 600},
        {"id": "done", "type": "succeed", "output": "{{ steps.ask.output }}"},
    ],
}


def test_watch_waits_out_a_restart_and_resumes_after_the_last_event(tmp_path: Path) -> None:
    port = free_port()
    lines: list[str] = []
    with serving(tmp_path, KEY, port) as (base, process):
        with Client(base, KEY) as client:
            client.create_workflow(APPROVE)
            run_id = client.start_run("approve").run_id
        env = {**os.environ, "WFA_URL": base, "WFA_API_KEY": KEY}
        watcher = subprocess.Popen(
            [WFA, "runs", "watch", run_id],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watcher.stdout is not None
        while not lines or "await.started" not in lines[-1]:  # the watch is live
            lines.append(watcher.stdout.readline())
            assert lines[-1], "the watch ended before the run waited"
        process.send_signal(signal.SIGTERM)  # the server ends its streams, then stops
        process.communicate(timeout=30)
    try:
        with serving(tmp_path, KEY, port) as (again, _):  # a few seconds: the watch keeps trying
            assert again == base
            assert watcher.poll() is None, watcher.communicate()
            with Client(base, KEY) as client:
                client.signal_run(run_id, "approval", {"ok": True})
            out, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate()
    assert watcher.returncode == 0
    lines += out.splitlines(keepends=True)
    assert err == f"run {run_id} succeeded\n"
    kinds = [line.split()[1] for line in lines[:-1]]
    assert kinds.count("await.started") == 1, "no event told twice after the reconnect"
    assert kinds[-3:] == ["signal.consumed", "step.succeeded", "run.succeeded"]
    assert lines[-1] == 'output: {"ok": true}\n'
