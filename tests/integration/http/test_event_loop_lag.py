"""No request may hold the event loop: hostile input is refused, bounded or handled off the loop.

A ticker coroutine, started by the app itself so that it shares the app's loop (the test
client runs the app in a thread of its own), records how long that loop went without running
it while each request is handled through the real app (API, worker and scheduler in one loop,
as ``wfa serve`` runs).
What is checked is the main thread's CPU time between two ticks: work that blocked the loop
shows there, while the scheduler of a busy machine pausing the whole process does not, so
the test holds on a loaded CI box and still fails on a blocking request.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.http.conftest import Api, make_settings
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.app import create_app
from wfa.entrypoints.roles import LocalWorker, Scheduler

MAX_BLOCKING = 0.1  # seconds of loop-thread work without a tick
COSTLY = "length(to_string(@" + "|[@,@]" * 21 + ")) > `0`"


class Ticker:
    """Ticks every few milliseconds and keeps the longest stretch of work between two ticks."""

    def __init__(self) -> None:
        self.longest_work = 0.0
        self.longest_wall = 0.0

    async def run(self) -> None:
        cpu, wall = time.thread_time(), time.perf_counter()
        while True:
            await asyncio.sleep(0.002)
            now_cpu, now_wall = time.thread_time(), time.perf_counter()
            self.longest_work = max(self.longest_work, now_cpu - cpu)
            self.longest_wall = max(self.longest_wall, now_wall - wall)
            cpu, wall = now_cpu, now_wall


@pytest.fixture
async def lag(tmp_path: Path) -> AsyncIterator[tuple[Api, Ticker]]:
    """The app of ``conftest.api``, with a ticker running in its loop from start-up."""
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
    )
    ticker = Ticker()
    ticking: list[asyncio.Task[None]] = []

    def start_ticking() -> None:
        ticking.append(asyncio.get_running_loop().create_task(ticker.run()))

    async def stop() -> None:
        ticking[0].cancel()
        await asyncio.gather(*ticking, return_exceptions=True)
        await scheduler.stop()
        await worker.stop(grace=5)

    app = create_app(
        container,
        on_startup=[worker.start, scheduler.start, start_ticking],
        on_shutdown=[stop],
    )
    async with AsyncTestClient(app, timeout=120) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield Api(client=client, container=container, key=key), ticker
    await container.database().dispose()


def steps(count: int) -> list[dict[str, Any]]:
    return [{"id": f"s{n}", "type": "task", "action": "noop"} for n in range(count)]


async def too_many_steps(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/workflows", json={"name": "big", "steps": steps(14_000)}
    )
    assert response.status_code == 422
    assert "WFA_MAX_STEPS" in response.json()["detail"]


async def largest_allowed_definition(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/workflows", json={"name": "large", "steps": steps(1_000)}
    )
    assert response.status_code == 201, response.text


async def costly_condition_in_a_webhook(api: Api) -> None:
    await api.create_workflow(
        {
            "name": "costly",
            "trigger": {"type": "webhook", "path": "costly"},
            "steps": [
                {"id": "pick", "type": "choice", "choices": [{"when": COSTLY, "next": "ok"}]},
                {"id": "ok", "type": "succeed"},
            ],
        }
    )
    response = await api.client.post("/hooks/costly?wait=5", json={"order": 1})
    assert response.status_code == 200, response.text
    assert response.json()["error"]["error"] == "expression.too_costly"


async def huge_allowed_body(api: Api) -> None:
    await api.create_workflow(
        {
            "name": "bulk",
            "trigger": {"type": "webhook", "path": "bulk"},
            "steps": [
                {
                    "id": "count",
                    "type": "task",
                    "action": "set",
                    "params": {"items": "{{ length(input.items) }}"},
                }
            ],
        }
    )
    items = [{"n": n, "text": "x" * 40} for n in range(15_000)]  # about 0.9 MB
    response = await api.client.post("/hooks/bulk?wait=10", json={"items": items})
    assert response.status_code == 200, response.text
    assert response.json()["output"] == {"items": 15_000}


@pytest.mark.parametrize(
    "hostile",
    [too_many_steps, largest_allowed_definition, costly_condition_in_a_webhook, huge_allowed_body],
)
async def test_hostile_input_never_blocks_the_event_loop(
    lag: tuple[Api, Ticker], hostile: Callable[[Api], Awaitable[None]]
) -> None:
    api, ticker = lag
    await api.client.get("/health")  # the app and its background roles are up
    await asyncio.sleep(0.05)
    # A full collection of the test session's heap (earlier tests' apps included) can pause
    # the loop for longer than any request here: set that heap aside, measure the request.
    gc.collect()
    gc.freeze()
    ticker.longest_work = ticker.longest_wall = 0.0  # start-up is not a request
    try:
        await hostile(api)
        health = await api.client.get("/health")
    finally:
        gc.unfreeze()
    assert health.status_code == 200
    assert ticker.longest_work < MAX_BLOCKING, (
        f"the loop ran {ticker.longest_work * 1000:.0f} ms of work without a tick "
        f"(longest wall-clock gap {ticker.longest_wall * 1000:.0f} ms)"
    )
