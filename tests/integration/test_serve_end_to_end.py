"""``wfa serve`` as a real process: create a workflow, fire its webhook, follow the stream."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from tests.integration.serve_process import serving

ORDER_FLOW = {
    "name": "orders",
    "trigger": {"type": "webhook", "path": "orders"},
    "steps": [
        {
            "id": "fetch",
            "type": "task",
            "action": "fail",
            "params": {"attempts": 1, "error": "upstream.busy"},
            "retry": {"max_attempts": 3, "initial_interval": 0.1},
        },
        {"id": "total", "type": "task", "action": "set", "params": {"total": "{{ input.total }}"}},
        {
            "id": "big",
            "type": "choice",
            "choices": [{"when": "steps.total.output.total > `100`", "next": "yes"}],
            "default": "no",
        },
        {"id": "yes", "type": "succeed", "output": {"big": True, "order": "{{ input.id }}"}},
        {"id": "no", "type": "succeed", "output": {"big": False}},
    ],
}


@pytest.fixture
def server(tmp_path):
    key = "wfa_test_key_for_the_end_to_end_test_0123456789"
    with serving(tmp_path, key) as (base, process):
        yield base, key, process


def test_a_webhook_run_streams_to_its_end_and_the_server_stops_cleanly(server):
    base, key, process = server
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        created = client.post("/api/v1/workflows", json=ORDER_FLOW, headers=auth)
        assert created.status_code == 201, created.text
        fired = client.post("/hooks/orders", json={"id": 7, "total": 250})
        assert fired.status_code == 202
        run_id = fired.json()["run_id"]

        events = []
        with client.stream("GET", f"/api/v1/runs/{run_id}/stream", headers=auth) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line.removeprefix("data:").strip()))
        assert events[0]["type"] == "run.created"
        assert events[-1]["type"] == "run.succeeded"
        assert events[-1]["output"] == {"big": True, "order": 7}
        failures = [e for e in events if e["type"] == "step.failed"]
        assert [f["error"]["error"] for f in failures] == ["upstream.busy"]

        run = client.get(f"/api/v1/runs/{run_id}", headers=auth).json()
        assert run["status"] == "succeeded"
        assert [len(s["attempts"]) for s in run["steps"]] == [2, 1]

    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output[-3000:]
    assert f"wfa serving on {base}" in output
