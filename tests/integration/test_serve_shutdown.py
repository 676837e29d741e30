"""A real ``wfa serve`` stopped with a stream open, and the log lines it writes on the way.

SIGTERM with a run's SSE stream open ends the stream with a last comment saying the server
is stopping, answers a webhook caller holding with ``?wait`` at once (202), and the
process exits within a couple of seconds, with no ERROR and no traceback. The same
process shows the run log (``wfa.runs``) and the access log
(``wfa.http``, switched on with WFA_ACCESS_LOG) as an operator reads them.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

import httpx
import pytest

from tests.integration.serve_process import serving

KEY = "wfa_test_key_for_the_shutdown_test_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
PAUSED = {
    "name": "paused",
    "trigger": {"type": "webhook", "path": "paused"},
    "steps": [{"id": "pause", "type": "wait", "seconds": 3600}],
}


@pytest.fixture
def server(tmp_path):
    with serving(tmp_path, KEY, WFA_ACCESS_LOG="1") as (base, process):
        yield base, process


def records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def hold(base: str, held: list[tuple[int, float]]) -> None:
    """A webhook caller asking to hold a minute for a run that waits an hour."""
    answer = httpx.post(f"{base}/hooks/paused?wait=60", json={}, timeout=30)
    held.append((answer.status_code, time.monotonic()))


def holding(client: httpx.Client) -> None:
    """Until the holder holds: polled, the count lives in the server process."""
    deadline = time.monotonic() + 10
    while "wfa_webhook_waiters 1.0" not in client.get("/metrics").text:
        assert time.monotonic() < deadline, "the webhook caller never held"
        time.sleep(0.02)


def test_sigterm_ends_open_streams_at_once_and_exits_quietly(server):
    base, process = server
    with httpx.Client(base_url=base, timeout=10) as client:
        created = client.post("/api/v1/workflows", json=PAUSED, headers=AUTH)
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
        run_id = client.post("/hooks/paused", json={}).json()["run_id"]
        assert client.get("/api/v1/runs?status=waiting", headers=AUTH).status_code == 200

        held: list[tuple[int, float]] = []
        holder = threading.Thread(target=hold, args=(base, held))
        holder.start()
        lines: list[str] = []
        with client.stream("GET", f"/api/v1/runs/{run_id}/stream", headers=AUTH) as stream:
            received = stream.iter_lines()  # the client's 10 s read timeout bounds each line
            for line in received:
                lines.append(line)
                if "wait.started" in line:
                    break  # the run waits an hour: the stream stays open
            holding(client)
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            lines.extend(received)
            stream_took = time.monotonic() - signalled
        output = process.communicate(timeout=30)[0].decode()
        exit_took = time.monotonic() - signalled
        holder.join(30)

    assert process.returncode == 0, output[-3000:]
    assert ": server stopping; reconnect with Last-Event-ID" in lines
    assert "retry: 2000" in lines
    assert stream_took < 2, f"the stream ended {stream_took:.1f} s after SIGTERM"
    assert exit_took < 3, f"the process exited {exit_took:.1f} s after SIGTERM"
    [(held_status, held_until)] = held
    assert held_status == 202, "a ?wait holder is answered with its run id"
    assert held_until - signalled < 2, "and at once"
    logged = records(output)
    assert not [r for r in logged if r["level"] in ("ERROR", "CRITICAL")], output[-3000:]
    assert "Traceback" not in output

    runs = [r for r in logged if r["logger"] == "wfa.runs"]
    assert [(r["level"], r["message"]) for r in runs] == [("INFO", "run started")] * 2
    assert (runs[0]["run_id"], runs[0]["workflow_id"]) == (run_id, workflow_id)

    access = {(r["method"], r["path"], r["status"]) for r in logged if r["logger"] == "wfa.http"}
    assert ("POST", "/hooks/paused", 202) in access
    assert ("GET", "/api/v1/runs?status=…", 200) in access
    assert ("GET", f"/api/v1/runs/{run_id}/stream", 200) in access
    assert all(r["client"] == "127.0.0.1" for r in logged if r["logger"] == "wfa.http")
    assert not [r for r in logged if r["logger"].startswith("uvicorn.access")]
