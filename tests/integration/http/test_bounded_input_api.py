"""Bodies, paths and queries no store or decoder can take: 4xx problem details, never 500."""

from __future__ import annotations

import json

import pytest

from tests.integration.http.conftest import HELLO

DEEP = b"[" * 5_000 + b"]" * 5_000  # RecursionError in the decoders: was a 500
JUST_TOO_DEEP = b'{"input": ' + b"[" * 64 + b"]" * 64 + b"}"


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


@pytest.mark.parametrize("body", [DEEP, JUST_TOO_DEEP])
async def test_a_body_nested_too_deep_is_400_on_every_route_that_reads_json(api, body):
    workflow = await api.create_workflow(HELLO)
    for method, path in [
        ("POST", "/hooks/hello"),
        ("POST", f"/api/v1/workflows/{workflow['id']}/runs"),
        ("POST", "/api/v1/workflows"),
        ("PUT", f"/api/v1/workflows/{workflow['id']}"),
    ]:
        response = await api.client.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
        assert "deeper than 64 levels" in problem(response, 400)["detail"], path


async def test_a_body_at_the_depth_is_taken(api):
    workflow = await api.create_workflow(HELLO)
    body = b'{"input": ' + b"[" * 63 + b"]" * 63 + b"}"
    response = await api.client.post(
        f"/api/v1/workflows/{workflow['id']}/runs",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text


async def test_nul_in_an_input_or_a_definition_is_422_naming_where(api):
    workflow = await api.create_workflow(HELLO)
    runs = f"/api/v1/workflows/{workflow['id']}/runs"
    refused = problem(await api.client.post(runs, json={"input": {"a": ["x\x00"]}}), 422)
    assert "the run's input holds a NUL character (\\u0000) at a[0]" in refused["detail"]
    hook = await api.client.post("/hooks/hello", content=json.dumps({"k\x00": 1}))
    assert "(a key)" in problem(hook, 422)["detail"]
    bad = {**HELLO, "name": "x\x00"}
    assert "at name" in problem(await api.client.post("/api/v1/workflows", json=bad), 422)["detail"]
    put = await api.client.put(f"/api/v1/workflows/{workflow['id']}", json=bad)
    problem(put, 422)
    run_id = (await api.client.post(runs, json={"input": {}})).json()["run_id"]
    cancel = await api.client.post(f"/api/v1/runs/{run_id}/cancel", json={"reason": "\x00"})
    problem(cancel, 422)


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/runs/%00",
        "/api/v1/workflows/a%00b",
        "/api/v1/runs?workflow_id=%00",
        "/hooks/%00",
    ],
)
async def test_nul_in_a_path_or_query_is_400(api, target):
    method = "POST" if target.startswith("/hooks") else "GET"
    response = await api.client.request(method, target)
    assert "NUL" in problem(response, 400)["detail"]
