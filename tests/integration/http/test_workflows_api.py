"""Workflows over HTTP: create, list, read, version, delete; errors as problem details."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from tests.integration.http.conftest import HELLO
from wfa.adapters.persistence.sqlalchemy.database import Database

PROBLEM = "application/problem+json"


async def test_create_read_list_update_delete(api):
    created = await api.create_workflow(HELLO)
    assert created["version"] == 1
    assert created["name"] == "hello"
    workflow_id = created["id"]

    read = await api.client.get(f"/api/v1/workflows/{workflow_id}")
    assert read.status_code == 200
    assert read.json()["definition"]["steps"][0]["id"] == "greet"

    changed = {**HELLO, "steps": [{"id": "other", "type": "succeed"}]}
    updated = await api.client.put(f"/api/v1/workflows/{workflow_id}", json=changed)
    assert updated.status_code == 200
    assert updated.json()["version"] == 2

    listed = await api.client.get("/api/v1/workflows")
    assert [w["id"] for w in listed.json()["items"]] == [workflow_id]
    assert listed.json()["items"][0]["version"] == 2

    assert (await api.client.delete(f"/api/v1/workflows/{workflow_id}")).status_code == 204
    gone = await api.client.get(f"/api/v1/workflows/{workflow_id}")
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith(PROBLEM)


async def test_an_invalid_definition_is_422_with_every_problem_and_its_path(api):
    response = await api.client.post(
        "/api/v1/workflows",
        json={"name": "", "steps": [{"id": "a", "type": "task", "action": "nope", "next": "b"}]},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 422
    assert body["title"] == "Unprocessable Content"
    assert {(p["path"], p["message"]) for p in body["problems"]} == {
        ("name", "must not be empty"),
        ("steps[0].next", "unknown step 'b'"),
        (
            "steps[0].action",
            "unknown action 'nope'; did you mean 'noop'? "
            "(known: fail, http.request, log, noop, set, sleep, transform)",
        ),
    }


async def test_malformed_json_is_400_and_oversized_bodies_413(api):
    bad = await api.client.post(
        "/api/v1/workflows", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith(PROBLEM)
    huge = await api.client.post(
        "/api/v1/workflows",
        content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["detail"] == (
        "the request body is larger than this server accepts"
        " (1,114,112 bytes at most: WFA_MAX_PAYLOAD_BYTES plus 64 KiB)"
    )


async def test_workflows_are_paged_by_id(api):
    ids = sorted(
        [
            (await api.create_workflow({**HELLO, "trigger": {"type": "manual"}}))["id"]
            for _ in range(3)
        ]
    )
    first = (await api.client.get("/api/v1/workflows", params={"limit": 2})).json()
    assert [w["id"] for w in first["items"]] == ids[:2]
    for name in ("cursor", "after"):  # one paging scheme; ``after`` is the older name
        rest = (
            await api.client.get(
                "/api/v1/workflows", params={"limit": 2, name: first["next_cursor"]}
            )
        ).json()
        assert [w["id"] for w in rest["items"]] == ids[2:]
        assert rest["next_cursor"] is None
    assert (await api.client.get("/api/v1/workflows", params={"limit": 0})).status_code == 400


async def test_webhook_secrets_are_never_read_back(api):
    created = await api.create_workflow(
        {**HELLO, "trigger": {"type": "webhook", "path": "s", "secret": "hunter2"}}
    )
    read = (await api.client.get(f"/api/v1/workflows/{created['id']}")).json()
    assert "hunter2" not in str(read)
    assert "hunter2" not in str(created)


async def test_a_webhook_path_has_one_owner(api):
    first = await api.create_workflow(HELLO)
    taken = await api.client.post("/api/v1/workflows", json={**HELLO, "name": "copy"})
    assert taken.status_code == 409
    assert f"already used by workflow {first['id']}" in taken.json()["detail"]
    await api.client.delete(f"/api/v1/workflows/{first['id']}")
    assert (await api.client.post("/api/v1/workflows", json=HELLO)).status_code == 201


async def test_a_step_or_trigger_type_that_is_not_a_string_is_422_not_500(api):
    # Found by the fuzz test: an object as a step's "type" was looked up in a dict (500).
    response = await api.client.post(
        "/api/v1/workflows",
        json={"name": "odd", "trigger": {"type": ["manual"]}, "steps": [{"id": "a", "type": {}}]},
    )
    assert response.status_code == 422, response.text
    assert {(p["path"], p["message"].split(" (")[0]) for p in response.json()["problems"]} == {
        ("trigger.type", "expected a string, got an array"),
        ("steps[0].type", "expected a string, got an object"),
    }


async def test_a_taken_webhook_path_is_a_documented_409(api):
    first = await api.create_workflow(HELLO)
    other = await api.create_workflow({**HELLO, "trigger": {"type": "manual"}, "name": "other"})
    taken = await api.client.put(f"/api/v1/workflows/{other['id']}", json=HELLO)
    assert taken.status_code == 409
    assert first["id"] in taken.json()["detail"]
    spec = (await api.client.get("/schema/openapi.json")).json()
    assert "409" in spec["paths"]["/api/v1/workflows"]["post"]["responses"]
    assert "409" in spec["paths"]["/api/v1/workflows/{workflow_id}"]["put"]["responses"]


async def test_options_lists_every_method_of_the_path(api):
    # Litestar 2 listed only the methods of the path's first handler (Allow: OPTIONS, POST).
    listed = await api.client.options("/api/v1/workflows")
    assert listed.status_code == 204
    assert listed.headers["allow"] == "GET, OPTIONS, POST"
    one = await api.client.options("/api/v1/workflows/any")
    assert one.headers["allow"] == "DELETE, GET, OPTIONS, PUT"


async def test_a_bad_parameter_names_where_it_is(api):
    response = await api.client.get("/api/v1/workflows", params={"limit": 0})
    assert response.status_code == 400
    [problem] = response.json()["problems"]
    assert problem["path"] == "query.limit"  # was "ParamType.QUERY.limit"


NIGHTLY = {
    "name": "nightly",
    "trigger": {"type": "schedule", "cron": "30 2 * * *", "timezone": "Europe/Berlin"},
    "steps": [{"id": "report", "type": "task", "action": "set", "params": {"at": "{{ input }}"}}],
}


async def test_schedules_show_their_next_fire_and_the_scheduler_fires_them(api):
    workflow_id = (await api.create_workflow(NIGHTLY))["id"]

    listed = await api.client.get(f"/api/v1/workflows/{workflow_id}/schedules")
    assert listed.status_code == 200
    (schedule,) = listed.json()["items"]
    assert schedule["cron"] == "30 2 * * *"
    assert schedule["overlap"] == "skip"
    assert schedule["last_run_id"] is None
    next_fire = datetime.fromisoformat(schedule["next_fire_at"])
    local = next_fire.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) in {(2, 30), (3, 30)}
    assert next_fire - datetime.now(UTC) <= timedelta(days=1, hours=1)

    # Make the fire due now, as if the night had come, and let the scheduler role find it.
    # Written as another process would: the app serves from a loop of its own, and its
    # database's in-process write turn is not to be shared across loops.
    database = Database(api.container.settings().database_url)
    try:
        async with database.unit_of_work() as uow:
            (stored,) = await uow.schedules.for_workflow(workflow_id)
            due = datetime.now(UTC) - timedelta(seconds=1)
            await uow.schedules.save(msgspec.structs.replace(stored, next_fire_at=due))
            await uow.commit()
    finally:
        await database.dispose()
    query = f"/api/v1/runs?workflow_id={workflow_id}"
    for _ in range(200):  # up to 10 s for the scheduler's next tick
        runs = (await api.client.get(query)).json()["items"]
        if runs:
            break
        await asyncio.sleep(0.05)
    run = await api.wait_for_end(runs[0]["id"])
    assert run["trigger"] == "schedule"
    assert run["output"]["at"]["fire_time"] == due.isoformat().replace("+00:00", "Z")

    after = (await api.client.get(f"/api/v1/workflows/{workflow_id}/schedules")).json()["items"][0]
    assert after["last_run_id"] == run["id"]
    assert datetime.fromisoformat(after["next_fire_at"]) > datetime.now(UTC)


async def test_schedules_of_an_unknown_workflow_are_404(api):
    response = await api.client.get("/api/v1/workflows/nope/schedules")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_a_workflow_is_read_and_started_by_its_name_unless_two_share_it(api):
    created = await api.create_workflow({**HELLO, "name": "by-name", "trigger": {"type": "manual"}})
    read = await api.client.get("/api/v1/workflows/by-name")
    assert read.status_code == 200, read.text
    assert read.json()["id"] == created["id"]
    started = await api.client.post("/api/v1/workflows/by-name/runs", json={"input": {}})
    assert started.status_code == 202, started.text
    run = await api.wait_for_end(started.json()["run_id"])
    assert run["workflow_id"] == created["id"]

    again = await api.create_workflow({**HELLO, "name": "by-name", "trigger": {"type": "manual"}})
    both = await api.client.get("/api/v1/workflows/by-name")
    assert both.status_code == 409
    assert created["id"] in both.json()["detail"]
    assert again["id"] in both.json()["detail"]
    by_id = await api.client.post(f"/api/v1/workflows/{again['id']}/runs", json={"input": {}})
    assert by_id.status_code == 202
    assert (await api.client.get("/api/v1/workflows/nobody")).status_code == 404


async def test_a_workflow_is_versioned_and_deleted_by_its_name_unless_two_share_it(api):
    manual = {**HELLO, "name": "by-name", "trigger": {"type": "manual"}}
    created = await api.create_workflow(manual)
    changed = {**manual, "steps": [{"id": "only", "type": "succeed"}]}
    updated = await api.client.put("/api/v1/workflows/by-name", json=changed)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["id"], updated.json()["version"]) == (created["id"], 2)
    assert (await api.client.get(f"/api/v1/workflows/{created['id']}")).json()["version"] == 2

    other = await api.create_workflow(manual)
    for shared in (
        await api.client.put("/api/v1/workflows/by-name", json=changed),
        await api.client.delete("/api/v1/workflows/by-name"),
    ):
        assert shared.status_code == 409, shared.text
        assert created["id"] in shared.json()["detail"]
        assert other["id"] in shared.json()["detail"]
    assert (await api.client.get(f"/api/v1/workflows/{created['id']}")).json()["version"] == 2
    assert (await api.client.get(f"/api/v1/workflows/{other['id']}")).status_code == 200

    assert (await api.client.delete(f"/api/v1/workflows/{other['id']}")).status_code == 204
    assert (await api.client.delete("/api/v1/workflows/by-name")).status_code == 204
    assert (await api.client.get(f"/api/v1/workflows/{created['id']}")).status_code == 404
    for missing in (
        await api.client.put("/api/v1/workflows/nobody", json=changed),
        await api.client.delete("/api/v1/workflows/nobody"),
        await api.client.delete("/api/v1/workflows/by-name"),
    ):
        assert missing.status_code == 404, missing.text
        assert missing.headers["content-type"].startswith(PROBLEM)


async def test_an_id_wins_over_a_name_on_put_and_delete(api):
    first = await api.create_workflow({**HELLO, "name": "first", "trigger": {"type": "manual"}})
    # A workflow whose name is the other one's id: the id still names the other one.
    impostor = {**HELLO, "name": first["id"], "trigger": {"type": "manual"}}
    named_like_id = await api.create_workflow(impostor)
    updated = await api.client.put(f"/api/v1/workflows/{first['id']}", json=impostor)
    assert updated.status_code == 200, updated.text
    assert updated.json()["id"] == first["id"]
    assert (await api.client.delete(f"/api/v1/workflows/{first['id']}")).status_code == 204
    kept = await api.client.get(f"/api/v1/workflows/{named_like_id['id']}")
    assert kept.status_code == 200
