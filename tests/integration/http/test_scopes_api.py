"""Scoped API keys: every /api/v1 route declares the least scope it needs, and keeps to it.

The table below names each route's scope independently of the code; one test checks it
covers the app's route table exactly, another sends every route a key of every scope.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar, Router, get
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from wfa.domain.api_keys import ApiKey, Scope
from wfa.entrypoints.config import Settings
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.app import create_app
from wfa.entrypoints.http.auth import SCOPE_OPT, Callers, scope_guard
from wfa.entrypoints.http.problems import EXCEPTION_HANDLERS

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
SCOPES = (VIEWER, OPERATOR, ADMIN)

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/workflows"): VIEWER,
    ("POST", "/api/v1/workflows"): OPERATOR,
    ("GET", "/api/v1/workflows/{workflow_id}"): VIEWER,
    ("PUT", "/api/v1/workflows/{workflow_id}"): OPERATOR,
    ("DELETE", "/api/v1/workflows/{workflow_id}"): OPERATOR,
    ("GET", "/api/v1/workflows/{workflow_id}/schedules"): VIEWER,
    ("POST", "/api/v1/workflows/{workflow_id}/runs"): OPERATOR,
    ("GET", "/api/v1/runs"): VIEWER,
    ("GET", "/api/v1/runs/{run_id}"): VIEWER,
    ("GET", "/api/v1/runs/{run_id}/events"): VIEWER,
    ("GET", "/api/v1/runs/{run_id}/stream"): VIEWER,
    ("GET", "/api/v1/runs/{run_id}/steps/{step_id}/children"): VIEWER,
    ("POST", "/api/v1/runs/{run_id}/cancel"): OPERATOR,
    ("POST", "/api/v1/runs/{run_id}/signals/{name}"): OPERATOR,
    ("POST", "/api/v1/events"): OPERATOR,
    ("POST", "/api/v1/runs/{run_id}/retry"): OPERATOR,
    ("PUT", "/api/v1/secrets/{name}"): OPERATOR,
    ("GET", "/api/v1/secrets"): ADMIN,
    ("DELETE", "/api/v1/secrets/{name}"): OPERATOR,
    ("POST", "/api/v1/api-keys"): ADMIN,
    ("GET", "/api/v1/api-keys"): ADMIN,
    ("DELETE", "/api/v1/api-keys/{key_id}"): ADMIN,
}
RANK = {VIEWER: 0, OPERATOR: 1, ADMIN: 2}


def declared_scopes(app: Litestar) -> dict[tuple[str, str], str | None]:
    """Every /api/v1 operation of ``app`` and the scope its handler declares (None: none)."""
    return {
        (method, route.path_format): handler.opt.get(SCOPE_OPT)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path_format.startswith("/api/v1")
        for handler in route.route_handlers
        for method in handler.http_methods
        if method != "OPTIONS"  # Litestar's own answer, without a body or data
    }


def test_every_api_route_declares_its_scope_as_the_table_says():
    app = create_app(Container(settings=Settings(database_url="sqlite+aiosqlite:///:memory:")))
    declared = declared_scopes(app)
    assert [route for route, scope in declared.items() if scope is None] == []
    assert declared == ROUTES


def test_the_walk_finds_a_route_that_declares_no_scope():
    @get("/api/v1/forgotten")
    async def forgotten() -> None: ...

    assert declared_scopes(Litestar([forgotten])) == {("GET", "/api/v1/forgotten"): None}


async def test_a_route_that_declares_nothing_is_for_admins_only():
    scopes = {"op": Scope.OPERATOR, "adm": Scope.ADMIN}

    async def authenticate(key: str) -> ApiKey | None:
        now = datetime.now(UTC)
        return ApiKey(id=key, name=key, prefix="", key_hash="", created_at=now, scope=scopes[key])

    @get("/forgotten")
    async def forgotten() -> str:
        return "ok"

    callers = Callers(authenticate)
    router = Router("/", route_handlers=[forgotten], guards=[scope_guard(callers)])
    app = Litestar([router], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app) as client:
        refused = await client.get("/forgotten", headers={"X-API-Key": "op"})
        assert refused.status_code == 403
        assert "needs 'admin'" in refused.json()["detail"]
        assert (await client.get("/forgotten", headers={"X-API-Key": "adm"})).status_code == 200


@pytest.fixture
async def keys(api) -> dict[str, str]:
    made = {}
    for scope in SCOPES:
        response = await api.client.post("/api/v1/api-keys", json={"name": scope, "scope": scope})
        assert response.status_code == 201, response.text
        assert response.json()["scope"] == scope
        made[scope] = response.json()["key"]
    return made


async def test_every_route_admits_the_scopes_that_cover_it_and_refuses_the_rest(api, keys):
    wrong = []
    for (method, path), needed in ROUTES.items():
        concrete = path.replace("{", "").replace("}", "-missing")
        for scope, key in keys.items():
            response = await api.client.request(
                method, concrete, headers={"Authorization": f"Bearer {key}"}, json={}
            )
            allowed = RANK[scope] >= RANK[needed]
            if allowed == (response.status_code == 403) or response.status_code == 401:
                wrong.append((method, path, scope, response.status_code))
            elif not allowed:
                problem: dict[str, Any] = response.json()
                assert response.headers["content-type"] == "application/problem+json"
                assert f"has scope '{scope}'" in problem["detail"]
                assert f"needs '{needed}'" in problem["detail"]
    assert wrong == []


async def test_an_operator_sets_and_deletes_a_secret_but_cannot_list_them(api, keys):
    operator = {"Authorization": f"Bearer {keys[OPERATOR]}"}
    put = await api.client.put("/api/v1/secrets/TOKEN", json={"value": "v"}, headers=operator)
    assert put.status_code in (200, 201, 503), put.text  # 503: no WFA_SECRET_KEY here
    assert (await api.client.get("/api/v1/secrets", headers=operator)).status_code == 403


async def test_keys_are_listed_with_their_scope_and_a_bad_scope_is_400(api, keys):
    listed = (await api.client.get("/api/v1/api-keys")).json()
    # The first key (named admin) was made before any scope was asked for: it is admin.
    assert sorted((key["name"], key["scope"]) for key in listed) == [
        ("admin", ADMIN),
        ("admin", ADMIN),
        (OPERATOR, OPERATOR),
        (VIEWER, VIEWER),
    ]
    default = await api.client.post("/api/v1/api-keys", json={"name": "ci"})
    assert default.json()["scope"] == OPERATOR
    bad = await api.client.post("/api/v1/api-keys", json={"name": "x", "scope": "root"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


async def test_a_key_name_holding_nul_is_422_not_a_store_error(api, keys):
    refused = await api.client.post("/api/v1/api-keys", json={"name": "a\u0000b"})
    assert refused.status_code == 422
    assert "NUL" in refused.json()["detail"]


def test_the_document_names_403_on_the_api_and_429_with_retry_after_where_limited():
    app = create_app(Container(settings=Settings(database_url="sqlite+aiosqlite:///:memory:")))
    paths = app.openapi_schema.to_schema()["paths"]
    for path, item in paths.items():
        for operation in item.values():
            answers = operation["responses"]
            assert ("403" in answers) == path.startswith("/api/v1/"), (path, answers.keys())
            limited = path.startswith(("/api/v1/", "/hooks/"))
            assert ("429" in answers) == limited, path
            if limited:
                assert set(answers["429"]["headers"]) == {"Retry-After"}
                assert set(answers["429"]["content"]) == {"application/problem+json"}
