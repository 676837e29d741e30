"""Rate limits: per webhook path and per address on /hooks, per API key on /api/v1.

Each test builds the app with the limits it wants (``WFA_RATE_LIMIT_*``) on a migrated
SQLite file; the Redis tests share one counter between two app instances.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from tests.conftest import service_url
from tests.integration.http.conftest import HELLO, make_settings
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.domain.api_keys import Scope
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.app import create_app


@asynccontextmanager
async def limited_app(
    tmp_path: Path, **env: str
) -> AsyncIterator[tuple[Litestar, Container, httpx.AsyncClient]]:
    """The app with these limits, and a client of it; every request runs on this loop."""
    settings = make_settings(tmp_path, **env)
    if not (tmp_path / "wfa.db").exists():
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
    container = Container(settings=settings)
    app = create_app(container)
    try:
        async with from_address(app, "127.0.0.1") as client:
            yield app, container, client
    finally:
        if settings.redis_url:
            await container.redis_client().aclose()
        await container.database().dispose()


async def new_key(container: Container, scope: Scope = Scope.ADMIN) -> dict[str, str]:
    _, plaintext = await container.create_api_key().execute("test", scope)
    return {"Authorization": f"Bearer {plaintext}"}


def from_address(app: Litestar, host: str) -> httpx.AsyncClient:
    """A client of the running ``app`` whose requests come from ``host``."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


def assert_too_many(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert detail in response.json()["detail"]


async def test_a_webhook_path_takes_its_limit_then_429_with_retry_after(tmp_path):
    env = {"WFA_RATE_LIMIT_HOOKS": "3/minute", "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS": "off"}
    async with limited_app(tmp_path, **env) as (_, container, client):
        created = await client.post(
            "/api/v1/workflows", json=HELLO, headers=await new_key(container)
        )
        assert created.status_code == 201
        statuses = [(await client.post("/hooks/hello", json={})).status_code for _ in range(3)]
        assert statuses == [202, 202, 202]
        refused = await client.post("/hooks/hello", json={})
        assert_too_many(refused, "more than 3 requests per minute for this webhook path")
        assert refused.headers["ratelimit-limit"] == "3"
        # Another path counts on its own (it has no workflow: 404, not 429).
        assert (await client.post("/hooks/other", json={})).status_code == 404


async def test_an_address_takes_its_limit_on_hooks_whatever_the_path(tmp_path):
    env = {"WFA_RATE_LIMIT_HOOKS": "off", "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS": "2/minute"}
    async with (
        limited_app(tmp_path, **env) as (app, _, _client),
        from_address(app, "10.0.0.1") as one,
        from_address(app, "10.0.0.2") as two,
    ):
        assert (await one.post("/hooks/a", json={})).status_code == 404
        assert (await one.post("/hooks/b", json={})).status_code == 404
        assert_too_many(await one.post("/hooks/c", json={}), "from this address")
        assert (await two.post("/hooks/a", json={})).status_code == 404


async def test_each_api_key_has_its_own_limit(tmp_path):
    async with limited_app(tmp_path, WFA_RATE_LIMIT_API="2/minute") as (_, container, client):
        first, second = await new_key(container), await new_key(container, Scope.VIEWER)
        for _ in range(2):
            assert (await client.get("/api/v1/runs", headers=first)).status_code == 200
        assert_too_many(await client.get("/api/v1/runs", headers=first), "for this API key")
        assert (await client.get("/api/v1/runs", headers=second)).status_code == 200


async def test_requests_without_a_valid_key_count_against_their_address(tmp_path):
    # Were they counted per presented key, every made-up key would start a fresh count.
    async with (
        limited_app(tmp_path, WFA_RATE_LIMIT_API="2/minute") as (app, container, _c),
        from_address(app, "10.0.0.9") as client,
    ):
        for n in range(2):
            made_up = {"X-API-Key": f"made-up-{n}"}
            assert (await client.get("/api/v1/runs", headers=made_up)).status_code == 401
        third = await client.get("/api/v1/runs", headers={"X-API-Key": "made-up-2"})
        assert_too_many(third, "for this API key")
        good = await new_key(container)
        assert (await client.get("/api/v1/runs", headers=good)).status_code == 200


async def test_operations_endpoints_are_never_limited(tmp_path):
    env = {"WFA_RATE_LIMIT_API": "1/day", "WFA_RATE_LIMIT_HOOKS": "1/day"}
    async with limited_app(tmp_path, **env, WFA_RATE_LIMIT_HOOKS_PER_ADDRESS="1/day") as (
        _,
        _container,
        client,
    ):
        for path in ("/health", "/ready", "/metrics", "/schema/openapi.json") * 3:
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "ratelimit-limit" not in response.headers


async def test_a_limit_turned_off_counts_nothing(tmp_path):
    async with limited_app(tmp_path, WFA_RATE_LIMIT_API="off") as (_, container, client):
        key = await new_key(container)
        for _ in range(30):
            response = await client.get("/api/v1/runs", headers=key)
            assert response.status_code == 200
        assert "ratelimit-limit" not in response.headers


@pytest.fixture
def redis_url() -> str:
    return service_url("WFA_TEST_REDIS_URL")


async def test_two_api_processes_share_one_count_through_redis(tmp_path, redis_url):
    env = {"WFA_REDIS_URL": redis_url, "WFA_RATE_LIMIT_API": "3/minute"}
    async with (
        limited_app(tmp_path, **env) as (_, container, one),
        limited_app(tmp_path, **env) as (_, _other, two),
    ):
        key = await new_key(container)
        assert (await one.get("/api/v1/runs", headers=key)).status_code == 200
        assert (await two.get("/api/v1/runs", headers=key)).status_code == 200
        assert (await one.get("/api/v1/runs", headers=key)).status_code == 200
        assert_too_many(await two.get("/api/v1/runs", headers=key), "for this API key")


async def test_concurrent_requests_on_two_processes_admit_exactly_the_limit(tmp_path, redis_url):
    # A read and a write of the count in two steps (Litestar's own) lets more through.
    path = f"burst-{uuid.uuid4().hex}"
    env = {
        "WFA_REDIS_URL": redis_url,
        "WFA_RATE_LIMIT_HOOKS": "10/minute",
        "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS": "off",
    }
    async with (
        limited_app(tmp_path, **env) as (first, _c1, _one),
        limited_app(tmp_path, **env) as (second, _c2, _two),
        from_address(first, "10.0.0.1") as one,
        from_address(second, "10.0.0.1") as two,
    ):
        sends = [client.post(f"/hooks/{path}", json={}) for client in (one, two) * 20]
        statuses = [response.status_code for response in await asyncio.gather(*sends)]
    assert statuses.count(429) == 30
    assert statuses.count(404) == 10


async def test_an_unreachable_redis_lets_requests_through_with_a_warning(tmp_path, caplog):
    env = {"WFA_REDIS_URL": "redis://127.0.0.1:1/0", "WFA_RATE_LIMIT_API": "1/minute"}
    async with limited_app(tmp_path, **env) as (_, container, client):
        key = await new_key(container)
        for _ in range(2):
            assert (await client.get("/api/v1/runs", headers=key)).status_code == 200
    assert "rate limit not checked, Redis is unreachable" in caplog.text


async def test_a_long_unknown_webhook_path_is_counted_under_a_short_key(tmp_path):
    env = {"WFA_RATE_LIMIT_HOOKS": "1/minute", "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS": "off"}
    async with limited_app(tmp_path, **env) as (app, _, client):
        long_path = "/hooks/" + "x" * 5000
        assert (await client.post(long_path, json={})).status_code == 404
        assert_too_many(await client.post(long_path, json={}), "for this webhook path")
        store = app.stores.get("rate_limit")
        assert all(len(key) < 300 for key in store._store)  # type: ignore[attr-defined]
