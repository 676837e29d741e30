"""Runs with a map step over HTTP: the parent's counts, its children page by page, cancel."""

from __future__ import annotations

from tests.integration.http.test_runs_api import start

FAN = {
    "name": "fan",
    "steps": [
        {
            "id": "each",
            "type": "map",
            "items": "{{ input.items }}",
            "max_concurrency": 2,
            "steps": [
                {"id": "echo", "type": "task", "action": "set", "params": {"v": "{{ item }}"}}
            ],
        }
    ],
}
SLOW = {
    "name": "slow-fan",
    "steps": [
        {
            "id": "each",
            "type": "map",
            "items": "{{ input.items }}",
            "max_concurrency": 2,
            "steps": [{"id": "pause", "type": "wait", "seconds": 3600}],
        }
    ],
}


async def test_a_map_run_lists_its_iterations_in_item_order_a_page_at_a_time(api):
    workflow = await api.create_workflow(FAN)
    run_id = (await start(api, workflow["id"], {"input": {"items": list(range(5))}}))["run_id"]
    run = await api.wait_for_end(run_id)
    assert run["status"] == "succeeded"
    assert run["output"] == [{"v": i} for i in range(5)]
    assert run["steps"][0]["id"] == "each"

    first = await api.client.get(f"/api/v1/runs/{run_id}/steps/each/children?limit=3")
    assert first.status_code == 200, first.text
    page = first.json()
    assert [child["parent"]["index"] for child in page["items"]] == [0, 1, 2]
    assert all(child["parent"]["kind"] == "iteration" for child in page["items"])
    assert all(child["parent"]["run_id"] == run_id for child in page["items"])
    assert [child["output"] for child in page["items"]] == [{"v": 0}, {"v": 1}, {"v": 2}]
    rest = await api.client.get(
        f"/api/v1/runs/{run_id}/steps/each/children?limit=3&cursor={page['next_cursor']}"
    )
    assert [child["parent"]["index"] for child in rest.json()["items"]] == [3, 4]
    assert rest.json()["next_cursor"] is None

    listed = await api.client.get("/api/v1/runs")
    assert [item["id"] for item in listed.json()["items"]] == [run_id]  # iterations are not

    child = page["items"][0]["id"]
    detail = await api.client.get(f"/api/v1/runs/{child}")
    assert detail.json()["parent"]["step_id"] == "each"
    retry = await api.client.post(f"/api/v1/runs/{child}/retry")
    assert retry.status_code == 409


async def test_a_running_map_shows_its_counts_and_cancel_ends_every_iteration(api):
    workflow = await api.create_workflow(SLOW)
    run_id = (await start(api, workflow["id"], {"input": {"items": [1, 2, 3]}}))["run_id"]
    detail = (await api.client.get(f"/api/v1/runs/{run_id}")).json()
    assert detail["fan"] == {
        "step_id": "each",
        "attempt": 1,
        "total": 3,
        "started": 2,
        "running": 2,
        "succeeded": 0,
        "failed": 0,
    }
    cancelled = await api.client.post(f"/api/v1/runs/{run_id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    children = (await api.client.get(f"/api/v1/runs/{run_id}/steps/each/children")).json()
    assert [child["status"] for child in children["items"]] == ["cancelled"] * 3


async def test_children_of_an_unknown_run_are_404_and_a_bad_cursor_400(api):
    missing = await api.client.get("/api/v1/runs/nope/steps/each/children")
    assert missing.status_code == 404
    bad = await api.client.get("/api/v1/runs/nope/steps/each/children?cursor=abc")
    assert bad.status_code == 400
