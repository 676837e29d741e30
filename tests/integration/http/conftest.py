"""The API through its ASGI app, on a real SQLite file, with the worker and scheduler running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.entrypoints.config import load_settings
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.app import create_app
from wfa.entrypoints.roles import LocalWorker, Scheduler


class Api(msgspec.Struct):
    client: AsyncTestClient[Any]
    container: Container
    key: str

    async def create_workflow(self, definition: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post("/api/v1/workflows", json=definition)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def wait_for_end_with_key(self, run_id: str) -> dict[str, Any]:
        self.client.headers["Authorization"] = f"Bearer {self.key}"
        return await self.wait_for_end(run_id)

    async def wait_for_end(self, run_id: str, seconds: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            while True:
                response = await self.client.get(f"/api/v1/runs/{run_id}")
                body: dict[str, Any] = response.json()
                if body["status"] in ("succeeded", "failed", "cancelled"):
                    return body
                await asyncio.sleep(0.02)


def make_settings(tmp_path: Path, **env: str) -> Any:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wfa.db'}"
    return load_settings({"WFA_DATABASE_URL": url, **env}, env_file=None)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    container = Container(settings=settings)
    key = await container.ensure_bootstrap_key().execute(None)
    assert key is not None
    worker = LocalWorker(container.queue(), container.execute_step(), concurrency=4)
    scheduler = Scheduler(
        container.fire_due_timers(),
        container.prune_runs(),
        settings.retention,
        interval=0.05,
        schedules=container.fire_schedules(),
        events=container.handle_events(),
        notices=container.send_notices(),
    )

    async def stop() -> None:
        await scheduler.stop()
        await worker.stop(grace=5)

    app = create_app(container, on_startup=[worker.start, scheduler.start], on_shutdown=[stop])
    async with AsyncTestClient(app, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield Api(client=client, container=container, key=key)
    await container.database().dispose()


HELLO = {
    "name": "hello",
    "trigger": {"type": "webhook", "path": "hello"},
    "steps": [
        {"id": "greet", "type": "task", "action": "set", "params": {"hi": "{{ input.name }}"}},
    ],
}
