"""Webhook-to-done runs per second through a real ``wfa serve``, beside the engine alone.

Starts ``wfa serve`` on 127.0.0.1 (its own SQLite file, or PostgreSQL when
WFA_BENCH_DATABASE_URL is set), registers the same workflow as engine_throughput.py, and
fires its webhook with ``?wait`` from C concurrent clients until N runs are done: every
answer is a finished run. Then runs the same workflow through the engine in this process on
the same store, so the report is a ratio measured side by side: what HTTP, the in-process
worker and the event feed cost over the engine's own work.
Usage: ``python bench/webhook_to_done.py [--runs N] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx
from engine_throughput import FLOW, measure, sql_store
from served import HEADERS, RATE_LIMITS_OFF, serving
from sqlalchemy import text


async def fire(base: str, runs: int, concurrency: int) -> float:
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as client:
        created = await client.post("/api/v1/workflows", json=FLOW)
        created.raise_for_status()
        numbers = iter(range(runs))

        async def client_loop() -> None:
            for number in numbers:
                answer = await client.post("/hooks/bench?wait=30", json={"n": number + 1})
                if answer.status_code != 200 or answer.json()["status"] != "succeeded":
                    raise SystemExit(f"run {number} did not succeed: {answer.text}")

        started = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        return runs / (time.perf_counter() - started)


async def through_serve(url: str, folder: Path, runs: int, concurrency: int) -> float:
    async with serving(url, folder) as served:
        return await fire(served.base, runs, concurrency)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = os.environ.get("WFA_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder}/b.db"
        database, uow = await sql_store(url)
        if database.dialect == "postgresql":
            async with database.engine.begin() as connection:
                await connection.execute(
                    text("TRUNCATE run_events, runs, webhook_routes, schedules CASCADE")
                )
        engine_rate = await measure(uow, args.runs, args.concurrency)  # type: ignore[arg-type]
        async with database.engine.begin() as connection:  # free the webhook path again
            await connection.execute(text("DELETE FROM webhook_routes"))
        await database.dispose()
        served_rate = await through_serve(url, folder, args.runs, args.concurrency)
    store = url.split(":", 1)[0]
    print(f"{args.runs} runs of a 3-task workflow, {args.concurrency} at a time, on {store}")
    print(f"  engine alone         {engine_rate:8.1f} runs/s   1.00 x")
    print(f"  webhook to done      {served_rate:8.1f} runs/s   {served_rate / engine_rate:.2f} x")
    print("  (wfa serve: HTTP + in-process worker + scheduler, ?wait answers at the end)")
    print(f"  (rate limits off: {', '.join(f'{k}={v}' for k, v in RATE_LIMITS_OFF.items())})")


if __name__ == "__main__":
    asyncio.run(main())
