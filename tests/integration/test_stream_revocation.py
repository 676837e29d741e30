"""A run's event stream may last as long as its run: revoking the key that opened it ends
it within seconds (``streaming.RECHECK_SECONDS``), through a real ``wfa serve``."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.integration.serve_process import serving
from wfa.entrypoints.http.streaming import KEEP_ALIVE_SECONDS, RECHECK_SECONDS

KEY = "wfa_stream_revocation_key_0123456789abcd"
WAITING = {"name": "parked", "steps": [{"id": "pause", "type": "wait", "seconds": 3600}]}


def test_a_stream_ends_soon_after_its_key_is_revoked(tmp_path: Path) -> None:
    with serving(tmp_path, KEY) as (base, _):
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"})
        viewer = admin.post("/api/v1/api-keys", json={"name": "tv", "scope": "viewer"}).json()
        created = admin.post("/api/v1/workflows", json=WAITING).json()
        run_id = admin.post(f"/api/v1/workflows/{created['id']}/runs", json={}).json()["run_id"]
        seen: list[str] = []
        ended = threading.Event()

        def read() -> None:
            headers = {"Authorization": f"Bearer {viewer['key']}"}
            limit = KEEP_ALIVE_SECONDS + RECHECK_SECONDS + 15
            with httpx.stream(
                "GET", f"{base}/api/v1/runs/{run_id}/stream", headers=headers, timeout=limit
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        seen.append(line.partition(":")[2].strip())
            ended.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while "wait.started" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "wait.started" in seen
        assert admin.delete(f"/api/v1/api-keys/{viewer['id']}").status_code == 204
        revoked = time.monotonic()
        while not ended.is_set() and time.monotonic() - revoked < RECHECK_SECONDS + 10:
            admin.post(f"/api/v1/runs/{run_id}/signals/ping", json={})  # something to send
            ended.wait(1.0)
        assert ended.is_set(), "the stream went on after its key was revoked"
        assert admin.get(f"/api/v1/runs/{run_id}").json()["status"] == "waiting"
        admin.close()
