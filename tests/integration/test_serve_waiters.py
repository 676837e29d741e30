"""``?wait`` holders are capped per process (WFA_MAX_WAITERS), through a real ``wfa serve``.

Past the cap a webhook answers 202 at once, its run started all the same. A holder gives its
place back when its wait runs out, when its run ends, and when its client hangs up; the
holders and the callers turned away show on /metrics.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.integration.serve_process import serving

KEY = "wfa_test_key_for_the_waiters_test_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
PAUSED = {
    "name": "paused",
    "trigger": {"type": "webhook", "path": "paused"},
    "steps": [{"id": "pause", "type": "wait", "seconds": 3600}],
}
QUICK = {
    "name": "quick",
    "trigger": {"type": "webhook", "path": "quick"},
    "steps": [{"id": "hi", "type": "task", "action": "set", "params": {"a": 1}}],
}


@pytest.fixture
def base(tmp_path):
    """``wfa serve`` with room for two waiters, with both workflows."""
    with serving(tmp_path, KEY, WFA_MAX_WAITERS="2") as (url, _):
        for flow in (PAUSED, QUICK):
            assert httpx.post(f"{url}/api/v1/workflows", json=flow, headers=AUTH).status_code == 201
        yield url


async def metric(client: httpx.AsyncClient, name: str) -> float:
    text = (await client.get("/metrics")).text
    [line] = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


async def holding(client: httpx.AsyncClient, count: int) -> None:
    async with asyncio.timeout(5):
        while True:  # polled: the count lives in another process
            if await metric(client, "wfa_webhook_waiters") == count:
                return
            await asyncio.sleep(0.02)


async def fire(client: httpx.AsyncClient, path: str, wait: float) -> tuple[int, str, float]:
    started = time.monotonic()
    response = await client.post(f"/hooks/{path}?wait={wait}", json={})
    return response.status_code, response.json()["run_id"], time.monotonic() - started


async def test_past_the_cap_a_webhook_answers_202_at_once_and_still_starts_its_run(base):
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        holders = [asyncio.create_task(fire(client, "paused", 3)) for _ in range(2)]
        await holding(client, 2)
        status, run_id, took = await fire(client, "paused", 3)
        assert status == 202
        assert took < 1.5, "the third caller is not held"
        run = (await client.get(f"/api/v1/runs/{run_id}", headers=AUTH)).json()
        assert run["status"] == "waiting", "its run started all the same"
        assert not any(holder.done() for holder in holders)
        assert await metric(client, "wfa_webhook_waits_refused_total") == 1

        results = await asyncio.gather(*holders)
        assert [status for status, _, _ in results] == [202, 202]
        assert all(took >= 3 for _, _, took in results), "both held until their wait ran out"
        assert await metric(client, "wfa_webhook_waiters") == 0, "time-outs free their places"
        assert (await fire(client, "quick", 5))[0] == 200, "a new caller holds again"
        assert await metric(client, "wfa_webhook_waits_refused_total") == 1


async def test_runs_that_end_give_their_places_back(base):
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(5):  # more than the cap, one after another
            response = await client.post("/hooks/quick?wait=5", json={})
            assert response.status_code == 200
            assert response.json()["output"] == {"a": 1}
        assert await metric(client, "wfa_webhook_waiters") == 0
        assert await metric(client, "wfa_webhook_waits_refused_total") == 0


async def test_a_client_that_hangs_up_gives_its_place_back_before_its_wait_runs_out(base):
    host, port = base.removeprefix("http://").split(":")
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(2):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"POST /hooks/paused?wait=60 HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            )
            await writer.drain()
            await holding(client, 1)
            writer.close()  # hang up while held
            await writer.wait_closed()
            await holding(client, 0)  # at once, not after 60 s
        assert await metric(client, "wfa_webhook_waits_refused_total") == 0
