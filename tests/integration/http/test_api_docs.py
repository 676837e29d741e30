"""/schema works offline: every page loads only files this server answers, and says what it does."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import jsonschema_rs
import pytest

from wfa.domain.definition import STEP_TYPES, TRIGGER_TYPES
from wfa.entrypoints.http.openapi_examples import DEFINITIONS

# Every page that renders the document (the not-found page of /schema/* aside).
UI_PAGES = ["/schema", "/schema/swagger", "/schema/oauth2-redirect.html"]
EXPECTED_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


class _Referenced(HTMLParser):
    """The URLs an HTML page makes the browser fetch: scripts, style sheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            value = found.get(name)
            if value and (tag != "a" or name != "href"):
                self.urls.append(value)


def referenced(html: str) -> list[str]:
    parser = _Referenced()
    parser.feed(html)
    # Also URLs written in inline scripts or styles (import(...), url(...), fetch("...")).
    parser.urls += re.findall(r"""(?:https?:)?//[^\s'"<>)]+""", html)
    return parser.urls


@pytest.mark.parametrize("page", UI_PAGES)
async def test_each_ui_page_references_only_local_files(api, page):
    api.client.headers.pop("Authorization")  # the documentation needs no key
    response = await api.client.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    urls = referenced(response.text)
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url}"
        assert not url.startswith("//"), f"{page} loads {url}"


async def test_the_page_loads_its_script_style_and_icon_from_this_server(api):
    api.client.headers.pop("Authorization")
    urls = referenced((await api.client.get("/schema")).text)
    # Swagger UI needs all three; a page without them renders nothing.
    assert {u.rsplit("/", 1)[-1] for u in urls} >= {
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
    }
    for url in urls:
        answer = await api.client.get(url)
        assert answer.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert answer.headers["content-type"].startswith(EXPECTED_TYPES[suffix]), url
        assert len(answer.content) > 100, url
    bundle = await api.client.get(next(u for u in urls if u.endswith("swagger-ui-bundle.js")))
    # Swagger UI 5 renders OpenAPI 3.1, which Litestar writes; version 4 refuses it.
    assert "SwaggerUIBundle" in bundle.text
    assert "isOAS31" in bundle.text


async def test_the_assets_route_serves_files_not_the_filesystem(api):
    api.client.headers.pop("Authorization")
    for escape in ("/schema/assets/../api_docs.py", "/schema/assets/%2e%2e/%2e%2e/etc/passwd"):
        assert (await api.client.get(escape)).status_code == 404


async def test_every_operation_says_what_it_does(api):
    spec = (await api.client.get("/schema/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            description = operation.get("description", "")
            assert len(description) >= 20, f"{method.upper()} {path} has no description"
    assert not [p for p in spec["paths"] if p.startswith("/schema")]


def _examples(spec):
    """(where, schema, value) for every example on a request or response body."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            bodies = [("request", operation.get("requestBody", {}))]
            bodies += list(operation.get("responses", {}).items())
            for status, body in bodies:
                for media in body.get("content", {}).values():
                    for name, example in media.get("examples", {}).items():
                        where = f"{method.upper()} {path} {status} {name}"
                        yield where, media["schema"], example["value"]


async def test_the_examples_are_true_to_their_schemas(api):
    spec = (await api.client.get("/schema/openapi.json")).json()
    found = list(_examples(spec))
    where = {w.rsplit(" ", 1)[0] for w, _, _ in found}
    assert {
        "POST /api/v1/workflows request",
        "PUT /api/v1/workflows/{workflow_id} request",
        "POST /api/v1/workflows 422",
        "GET /api/v1/runs/{run_id} 200",
        "POST /hooks/{hook_path} request",
    } <= where
    for name, schema, value in found:
        validator = jsonschema_rs.validator_for({"allOf": [schema], **spec})
        assert validator.is_valid(value), (name, list(validator.iter_errors(value))[:3])
    # Not vacuous: a wrong value is caught by the same check.
    run = spec["paths"]["/api/v1/runs/{run_id}"]["get"]["responses"]["200"]["content"]
    wrong = {**next(iter(run["application/json"]["examples"].values()))["value"], "status": "x"}
    schema = run["application/json"]["schema"]
    assert not jsonschema_rs.validator_for({"allOf": [schema], **spec}).is_valid(wrong)


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
async def test_each_definition_example_is_accepted(api, name):
    definition = DEFINITIONS[name].value
    created = await api.client.post("/api/v1/workflows", json=definition)
    assert created.status_code == 201, created.text


async def test_a_step_is_a_union_tagged_by_type_with_every_field(api):
    spec = (await api.client.get("/schema/openapi.json")).json()
    components = spec["components"]["schemas"]
    body = spec["paths"]["/api/v1/workflows"]["post"]["requestBody"]["content"]
    steps = body["application/json"]["schema"]["properties"]["steps"]["items"]
    assert steps["discriminator"]["propertyName"] == "type"
    assert set(steps["discriminator"]["mapping"]) == set(STEP_TYPES)
    assert len(steps["oneOf"]) == len(STEP_TYPES)
    for tag, struct in STEP_TYPES.items():
        step = components[steps["discriminator"]["mapping"][tag].rsplit("/", 1)[-1]]
        assert set(step["properties"]) == {"type", *struct.__struct_fields__}, tag
        assert step["properties"]["type"]["enum"] == [tag]
        assert step["additionalProperties"] is False
        assert step["description"], tag  # the step type's docstring
    task = components["TaskStep"]["properties"]
    assert task["retry"] == {**task["retry"], "$ref": "#/components/schemas/RetryPolicy"}
    wait = components["WaitStep"]["properties"]
    assert {"seconds", "until", "next"} <= set(wait)
    one = body["application/json"]["schema"]["properties"]["trigger"]
    assert set(one["discriminator"]["mapping"]) == set(TRIGGER_TYPES)


async def test_the_webhook_body_is_any_json_and_becomes_the_input(api):
    spec = (await api.client.get("/schema/openapi.json")).json()
    body = spec["paths"]["/hooks/{hook_path}"]["post"]["requestBody"]
    assert body["required"] is False
    schema = body["content"]["application/json"]["schema"]
    assert set(schema) <= {"description"}  # no constraint: any JSON value
    assert "input" in body["description"]
