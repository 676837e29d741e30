"""A map over many items on several workers, and the cost of a step as a run grows.

1. **Map**: one run of a map over ``--items`` items (default 1,000) with ``max_concurrency``
   50, its iterations run by two ``wfa worker`` processes (and a ``wfa scheduler``) on one
   PostgreSQL and one Redis. Reports the wall time from the start to the parent's end,
   iterations per second, and how many decisions were taken again after a concurrent change
   (each worker logs one line per such retry).
2. **Long run**: one run that loops over a task for ``--steps`` steps (default 1,000), on
   PostgreSQL through the engine in this process. Reports the median time of a step around
   step 10 and around the last step, and their ratio: a step's cost must not grow with the
   size of its run.

PostgreSQL comes from WFA_BENCH_DATABASE_URL (or WFA_TEST_DATABASE_URL), Redis from
WFA_BENCH_REDIS_URL (or WFA_TEST_REDIS_URL); the map is skipped without Redis, everything
without PostgreSQL. Usage: ``python bench/fan_out.py [--items N] [--steps N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import text

from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.secrets.fernet import generate_key
from wfa.application.use_cases.start_run import StartRunRequest
from wfa.domain.events import AttemptSucceeded
from wfa.entrypoints.config import load_settings
from wfa.entrypoints.container import Container
from wfa.entrypoints.local import LocalEngine

WFA = str(Path(sys.executable).parent / "wfa")
CONFLICT = "decided again after a concurrent change"
WINDOW = 10  # steps either side of the one measured


def fan(items: int) -> dict[str, Any]:
    return {
        "name": "bench-map",
        "steps": [
            {
                "id": "each",
                "type": "map",
                "items": "{{ input.items }}",
                "max_concurrency": 50,
                "steps": [
                    {"id": "work", "type": "task", "action": "set", "params": {"n": "{{ item }}"}},
                    {"id": "log", "type": "task", "action": "noop"},
                ],
            }
        ],
    }


def single() -> dict[str, Any]:
    """One iteration's steps as a workflow of its own: the map's work without the map."""
    steps = fan(1)["steps"][0]["steps"]
    work = {**steps[0], "params": {"n": "{{ input.n }}"}}
    return {"name": "bench-single", "steps": [work, *steps[1:]]}


def loop(steps: int) -> dict[str, Any]:
    # A task, then a choice back to it: 4 events a step; the history budget ends the run.
    return {
        "name": "bench-long",
        "limits": {"max_events": 4 * steps + 3},
        "steps": [
            {"id": "work", "type": "task", "action": "set", "params": {"v": "{{ input.v }}"}},
            {
                "id": "again",
                "type": "choice",
                "choices": [{"when": "input.v != 'stop'", "next": "work"}],
                "default": "done",
            },
            {"id": "done", "type": "succeed"},
        ],
    }


async def clean(url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.execute(text("TRUNCATE run_events, runs, webhook_routes CASCADE"))
    await database.dispose()


async def map_on_two_workers(url: str, redis_url: str, items: int) -> None:
    await clean(url)
    queue = f"wfa-bench-{uuid.uuid4().hex[:8]}:jobs"
    env = {
        **os.environ,
        "WFA_DATABASE_URL": url,
        "WFA_REDIS_URL": redis_url,
        "WFA_QUEUE_NAME": queue,
        "WFA_WORKER_CONCURRENCY": "25",
        "WFA_LOG_FORMAT": "json",
        "WFA_SECRET_KEY": generate_key(),
    }
    with tempfile.TemporaryDirectory() as folder:
        logs = [Path(folder) / f"{role}.log" for role in ("worker-1", "worker-2", "scheduler")]
        roles = ["worker", "worker", "scheduler"]
        processes = [
            await asyncio.create_subprocess_exec(
                WFA, role, env=env, stdout=log.open("wb"), stderr=asyncio.subprocess.STDOUT
            )
            for role, log in zip(roles, logs, strict=True)
        ]
        try:
            await _until_running(logs)
            settings = load_settings(env, env_file=None)
            container = Container(settings=settings)
            workflow = await container.register_workflow().execute(fan(items))
            request = StartRunRequest(workflow_id=workflow.id, input={"items": list(range(items))})
            began = time.perf_counter()
            started = await container.start_run().execute(request)
            async with asyncio.timeout(600):
                status = await _until_ended(container, started.run_id)
            elapsed = time.perf_counter() - began
            alone = await _as_separate_runs(container, items)
            await container.broker().shutdown()
            await container.redis_client().aclose()
            await container.database().dispose()
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                await process.wait()
            with redis.Redis.from_url(redis_url) as client:
                client.delete(queue)
        conflicts = sum(log.read_text(errors="replace").count(CONFLICT) for log in logs)
    print(f"map over {items:,} items, max_concurrency 50, 2 workers, PostgreSQL + Redis")
    print(f"  {status} after {elapsed:.2f}s: {items / elapsed:.0f} iterations/s")
    print(f"  the same work as {items:,} separate runs: {alone:.2f}s ({elapsed / alone:.2f}x)")
    print(f"  decisions taken again after a concurrent change: {conflicts}")


async def _as_separate_runs(container: Container, items: int) -> float:
    """Seconds for the workers to run one iteration's steps as ``items`` runs of their own,
    started 50 at a time as the map does (a new one as each ends)."""
    workflow = await container.register_workflow().execute(single())
    start, get_run = container.start_run(), container.get_run()
    began = time.perf_counter()
    running: list[str] = []
    left = items
    while left or running:
        while left and len(running) < 50:
            started = await start.execute(StartRunRequest(workflow_id=workflow.id, input={"n": 1}))
            running.append(started.run_id)
            left -= 1
        await asyncio.sleep(0.01)
        states = [(await get_run.execute(run_id)).run for run_id in running]
        running = [run.id for run in states if not run.status.is_terminal]
    return time.perf_counter() - began


async def _until_running(logs: list[Path]) -> None:
    for _ in range(300):
        if all(log.exists() and "wfa running" in log.read_text(errors="replace") for log in logs):
            return
        await asyncio.sleep(0.1)
    raise SystemExit("the workers did not start:\n" + "\n".join(p.read_text() for p in logs))


async def _until_ended(container: Container, run_id: str) -> str:
    get_run = container.get_run()
    while True:
        run = (await get_run.execute(run_id)).run
        if run.status.is_terminal:
            return str(run.status)
        await asyncio.sleep(0.05)


async def long_run(url: str, steps: int) -> None:
    await clean(url)
    database = Database(url)
    engine = LocalEngine(unit_of_work=database.unit_of_work)
    workflow = await engine.add_workflow(loop(steps))
    details = await engine.settle(await engine.start(workflow.id, {"v": "x" * 200}))
    await database.dispose()
    ends = [e.at for e in details.history if isinstance(e, AttemptSucceeded)]
    costs = [(b - a).total_seconds() for a, b in itertools.pairwise(ends)]
    early = statistics.median(costs[10 - WINDOW // 2 : 10 + WINDOW])
    late = statistics.median(costs[-2 * WINDOW :])
    print(f"one run of {len(ends):,} task steps on PostgreSQL (a task and a choice per step)")
    print(f"  median step around step 10:    {early * 1000:7.3f} ms")
    print(f"  median step around step {len(ends):,}: {late * 1000:7.3f} ms")
    print(f"  ratio: {late / early:.2f} (at most 1.5 wanted)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    url = os.environ.get("WFA_BENCH_DATABASE_URL") or os.environ.get("WFA_TEST_DATABASE_URL")
    redis_url = os.environ.get("WFA_BENCH_REDIS_URL") or os.environ.get("WFA_TEST_REDIS_URL")
    if not url:
        print("fan-out bench skipped: set WFA_BENCH_DATABASE_URL (PostgreSQL)")
        return
    await long_run(url, args.steps)
    if redis_url:
        await map_on_two_workers(url, redis_url, args.items)
    else:
        print("map bench skipped: set WFA_BENCH_REDIS_URL (Redis)")


if __name__ == "__main__":
    asyncio.run(main())
