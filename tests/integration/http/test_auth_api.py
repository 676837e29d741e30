"""Everything under /api/v1 needs an active API key; health, ready and hooks do not."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": "Basic x"}],
)
async def test_requests_without_a_valid_key_are_401_problems(api, headers):
    api.client.headers.pop("Authorization")
    response = await api.client.get("/api/v1/workflows", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_key_sent_without_bearer_is_told_the_header_it_needs(api):
    api.client.headers.pop("Authorization")
    response = await api.client.get("/api/v1/workflows", headers={"Authorization": api.key})
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert detail.startswith("the Authorization header needs the Bearer scheme")
    assert "send 'Authorization: Bearer <key>'" in detail
    assert api.key not in response.text


async def test_an_unknown_scheme_that_is_no_key_gets_the_general_answer(api):
    api.client.headers.pop("Authorization")
    response = await api.client.get("/api/v1/workflows", headers={"Authorization": "Basic x"})
    assert response.json()["detail"].startswith("an API key is required")


async def test_the_key_works_as_bearer_or_x_api_key(api):
    api.client.headers.pop("Authorization")
    assert (await api.client.get("/api/v1/runs", headers={"X-API-Key": api.key})).status_code == 200
    bearer = {"Authorization": f"Bearer {api.key}"}
    assert (await api.client.get("/api/v1/runs", headers=bearer)).status_code == 200


async def test_health_and_ready_are_open(api):
    api.client.headers.pop("Authorization")
    assert (await api.client.get("/health")).json() == {"status": "ok", "checks": {}}
    ready = await api.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_the_openapi_document_describes_the_api(api):
    spec = (await api.client.get("/schema/openapi.json")).json()
    assert {"/api/v1/workflows", "/api/v1/runs/{run_id}", "/hooks/{hook_path}"} <= set(
        spec["paths"]
    )
    assert set(spec["components"]["securitySchemes"]) == {"BearerAuth", "ApiKeyAuth"}
    create = spec["paths"]["/api/v1/workflows"]["post"]
    assert "422" in create["responses"]


async def test_keys_are_created_once_listed_without_secret_and_revoked(api):
    created = await api.client.post("/api/v1/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    new = created.json()
    assert new["key"].startswith("wfa_")
    assert new["prefix"] == new["key"][:8]
    listed = (await api.client.get("/api/v1/api-keys")).json()
    assert {k["name"] for k in listed} == {"admin", "ci"}
    assert new["key"] not in str(listed)

    own = {"Authorization": f"Bearer {new['key']}"}
    assert (await api.client.get("/api/v1/runs", headers=own)).status_code == 200
    revoked = await api.client.delete(f"/api/v1/api-keys/{new['id']}")
    assert revoked.status_code == 204
    assert (await api.client.delete("/api/v1/api-keys/nope")).status_code == 404
    listed = (await api.client.get("/api/v1/api-keys")).json()
    assert [k["revoked_at"] is not None for k in listed if k["id"] == new["id"]] == [True]


async def test_a_revoked_key_is_refused_once_its_cached_verdict_expires(api, monkeypatch):
    from wfa.entrypoints.http import auth

    monkeypatch.setattr(auth, "CACHE_SECONDS", 0.0)
    new = (await api.client.post("/api/v1/api-keys", json={"name": "short"})).json()
    own = {"Authorization": f"Bearer {new['key']}"}
    assert (await api.client.get("/api/v1/runs", headers=own)).status_code == 200
    await api.client.delete(f"/api/v1/api-keys/{new['id']}")
    assert (await api.client.get("/api/v1/runs", headers=own)).status_code == 401


async def test_metrics_are_prometheus_text_as_documented(api):
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    # Was "...; charset=utf-8; charset=utf-8", and documented as application/json.
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    spec = (await api.client.get("/schema/openapi.json")).json()
    assert set(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}


async def test_the_document_says_what_the_api_answers(api):
    spec = (await api.client.get("/schema/openapi.json")).json()
    paths = spec["paths"]
    operations = [op for item in paths.values() for op in item.values() if "responses" in op]
    for operation in operations:
        # A page for people (a callback link's) answers its own mistakes as pages too.
        page = set(operation["responses"].get("200", {}).get("content", {})) == {"text/html"}
        for status, response in operation["responses"].items():
            if status.startswith("4"):  # not Litestar's own {"status_code", "extra"} shape
                wanted = {"application/problem+json"}
                if page and status != "400":
                    wanted = {"text/html"}
                assert set(response["content"]) == wanted, operation
        for parameter in operation.get("parameters", []):
            # Optional query and header parameters are left out, never sent as null.
            assert "null" not in str(parameter["schema"]), parameter
    assert "examples" not in spec["components"]["schemas"]["Problem"]  # no invented ones
    for closed in ("StartRunIn", "CancelIn", "ApiKeyIn"):  # unknown fields are 400
        assert spec["components"]["schemas"][closed]["additionalProperties"] is False

    hook = paths["/hooks/{hook_path}"]["post"]
    assert hook["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WaitedRun"
    }
    assert hook["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunAccepted"
    }
    [wait] = [p for p in hook["parameters"] if p["name"] == "wait"]
    assert (wait["schema"]["minimum"], wait["schema"]["maximum"]) == (0, 60)
    stream = paths["/api/v1/runs/{run_id}/stream"]["get"]["responses"]["200"]
    assert set(stream["content"]) == {"text/event-stream"}
    events = paths["/api/v1/runs/{run_id}/events"]["get"]
    paging = {p["name"]: p["schema"] for p in events["parameters"][1:]}
    assert paging["after_seq"]["maximum"] == 2**31 - 1
    assert (paging["limit"]["minimum"], paging["limit"]["maximum"]) == (1, 5000)
    assert paging["limit"]["default"] == 500
    assert events["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventPage"
    }
    definition = paths["/api/v1/workflows"]["post"]["requestBody"]["content"]["application/json"]
    assert definition["schema"]["type"] == "object"
    assert definition["schema"]["required"] == ["name", "steps"]
