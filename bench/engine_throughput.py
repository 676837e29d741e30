"""How many webhook-to-done runs per second the engine finishes, per store, side by side.

Runs the same workflow (a webhook-style start, three task steps, a choice, an end) through
the real use cases on each persistence adapter in one process, one after another in the
same run, and reports runs/s and each store's ratio to the in-memory store, so machine
noise cancels out. Usage: ``python bench/engine_throughput.py [--runs N] [--concurrency C]``.
PostgreSQL joins when WFA_BENCH_DATABASE_URL (or WFA_TEST_DATABASE_URL) is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from wfa.adapters.persistence.memory import MemoryStore
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.entrypoints.local import LocalEngine

FLOW = {
    "name": "bench",
    "trigger": {"type": "webhook", "path": "bench"},
    "steps": [
        {"id": "parse", "type": "task", "action": "set", "params": {"n": "{{ input.n }}"}},
        {
            "id": "route",
            "type": "choice",
            "choices": [{"when": "steps.parse.output.n > `0`", "next": "work"}],
            "default": "done",
        },
        {"id": "work", "type": "task", "action": "noop"},
        {"id": "log", "type": "task", "action": "set", "params": {"ok": True}},
        {"id": "done", "type": "succeed"},
    ],
}


async def measure(uow: UnitOfWorkFactory, runs: int, concurrency: int) -> float:
    engine = LocalEngine(unit_of_work=uow)
    trigger = {"type": "webhook", "path": f"bench-{uuid.uuid4().hex[:8]}"}
    workflow = await engine.add_workflow({**FLOW, "trigger": trigger})
    worker_count = concurrency

    async def one(index: int) -> None:
        await engine.start(workflow.id, {"n": index + 1})

    started = time.perf_counter()
    pending = list(range(runs))
    while pending:
        batch, pending = pending[:worker_count], pending[worker_count:]
        await asyncio.gather(*(one(i) for i in batch))
        await asyncio.gather(*(drain(engine) for _ in range(worker_count)))
    elapsed = time.perf_counter() - started
    return runs / elapsed


async def drain(engine: LocalEngine) -> None:
    while (job := engine.queue.take()) is not None:
        await engine.execute_step.execute(job)


async def sql_store(url: str) -> tuple[Database, Callable[[], object]]:
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(url)
    return database, database.unit_of_work


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    results: dict[str, float] = {}
    results["memory"] = await measure(MemoryStore().unit_of_work, args.runs, args.concurrency)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        database, uow = await sql_store(url)
        results["sqlite"] = await measure(uow, args.runs, args.concurrency)  # type: ignore[arg-type]
        await database.dispose()
    pg = os.environ.get("WFA_BENCH_DATABASE_URL") or os.environ.get("WFA_TEST_DATABASE_URL")
    if pg:
        database, uow = await sql_store(pg)
        async with database.engine.begin() as connection:
            await connection.execute(text("TRUNCATE run_events, runs, webhook_routes CASCADE"))
        results["postgresql"] = await measure(uow, args.runs, args.concurrency)  # type: ignore[arg-type]
        await database.dispose()
    base = results["memory"]
    print(f"{args.runs} runs of a 3-task workflow, {args.concurrency} at a time, one process")
    for store, rate in results.items():
        print(f"  {store:<11} {rate:8.1f} runs/s   {rate / base:6.2f} x memory")


if __name__ == "__main__":
    asyncio.run(main())
