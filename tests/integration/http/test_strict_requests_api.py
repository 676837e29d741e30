"""What a route accepts: the query parameters it declares, JSON bodies (and YAML definitions).

The query-parameter test walks the app's route table, so a route added later cannot be missed.
"""

from __future__ import annotations

import html
import json

import pytest
from litestar.routes import HTTPRoute

from tests.integration.http.conftest import HELLO

PROBLEM = "application/problem+json"
HELLO_YAML = """\
name: hello
trigger: {type: webhook, path: hello}
steps:
  - id: greet
    type: task
    action: set
    params: {hi: "{{ input.name }}"}
"""


def every_operation(app):
    return sorted(
        (method, route.path_format)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method not in ("OPTIONS", "HEAD")  # Litestar's own answers
    )


async def test_every_route_refuses_a_query_parameter_it_does_not_declare(api):
    operations = every_operation(api.client.app)
    assert ("GET", "/api/v1/runs") in operations
    assert ("GET", "/health") in operations
    assert any(path.startswith("/schema") for _, path in operations)
    let_through = []
    for method, path in operations:
        if path.startswith("/hooks/"):
            continue  # senders are outside our control: see the next test
        concrete = path.replace("{", "").replace("}", "-x")
        response = await api.client.request(method, concrete, params={"limt": "5"}, json={})
        # The console answers with a page, where the quotes are escaped.
        said = html.unescape(response.text)
        if response.status_code != 400 or "unknown query parameter 'limt'" not in said:
            let_through.append((method, path, response.status_code))
    assert let_through == []


async def test_a_webhook_takes_query_parameters_its_sender_adds(api):
    await api.create_workflow(
        {
            "name": "q",
            "trigger": {"type": "webhook", "path": "q"},
            "steps": [{"id": "a", "type": "succeed"}],
        }
    )
    response = await api.client.post("/hooks/q", params={"source": "crm", "wait": "5"}, json={})
    assert response.status_code == 200, response.text


async def test_the_refusal_names_what_the_route_takes(api):
    response = await api.client.get("/api/v1/workflows", params={"limt": "5", "zz": "1"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    detail = response.json()["detail"]
    assert detail == (
        "unknown query parameters 'limt', 'zz'; this route takes 'after', 'cursor', 'limit'"
    )
    assert (await api.client.get("/api/v1/workflows", params={"limit": "5"})).status_code == 200


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml; charset=utf-8"])
async def test_a_definition_may_be_sent_as_yaml(api, content_type):
    headers = {"content-type": content_type}
    created = await api.client.post("/api/v1/workflows", content=HELLO_YAML, headers=headers)
    assert created.status_code == 201, created.text
    workflow = created.json()
    assert workflow["definition"]["steps"][0]["params"] == {"hi": "{{ input.name }}"}
    renamed = HELLO_YAML.replace("name: hello", "name: hello-again")
    url = f"/api/v1/workflows/{workflow['id']}"
    updated = await api.client.put(url, content=renamed, headers=headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("name: [unclosed\n", "the body is not valid YAML at line 2"),
        ("a: &x [1, 2]\nb: *x\n", "aliases are not accepted"),
        ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 80)), "deeper than 64 levels"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
    ],
)
async def test_yaml_bodies_are_held_to_the_json_limits(api, body, said):
    headers = {"content-type": "application/yaml"}
    response = await api.client.post("/api/v1/workflows", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    assert said in response.json()["detail"]


async def test_a_nul_in_a_yaml_definition_is_refused_as_in_json(api):
    body = HELLO_YAML.replace("name: hello", 'name: "hel\\0lo"')
    headers = {"content-type": "application/yaml"}
    response = await api.client.post("/api/v1/workflows", content=body, headers=headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/workflows", "text/plain"),
        ("/api/v1/workflows", "application/x-www-form-urlencoded"),
        ("/api/v1/workflows/{id}/runs", "application/yaml"),
        ("/api/v1/workflows/{id}/runs", "text/plain"),
    ],
)
async def test_other_body_types_are_415(api, path, content_type):
    workflow = await api.create_workflow(HELLO)
    body = json.dumps(HELLO if path.endswith("workflows") else {"input": {}})
    response = await api.client.post(
        path.replace("{id}", workflow["id"]), content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "send 'Content-Type: application/json'" in response.json()["detail"]


async def test_json_types_and_bodies_without_a_type_are_read_as_json(api):
    workflow = await api.create_workflow(HELLO)
    url = f"/api/v1/workflows/{workflow['id']}/runs"
    for headers in ({"content-type": "application/merge-patch+json"}, {}):
        response = await api.client.post(url, content=b'{"input": {}}', headers=headers)
        assert response.status_code == 202, response.text


def test_the_document_names_415_and_the_yaml_body(api):
    spec = api.client.app.openapi_schema.to_schema()
    create = spec["paths"]["/api/v1/workflows"]["post"]
    assert "415" in create["responses"]
    assert set(create["requestBody"]["content"]) == {"application/json", "application/yaml"}
    start = spec["paths"]["/api/v1/workflows/{workflow_id}/runs"]["post"]
    assert "415" in start["responses"]
    assert set(start["requestBody"]["content"]) == {"application/json"}
