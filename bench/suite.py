"""``make bench``: every scenario on the embedded default and on PostgreSQL + Redis, one run.

Measures the database's own single-row commit rate first, in the same invocation, and
reports each throughput beside it; then starts each stack once and runs the scenarios on it
one after another. Writes ``bench/results/latest.json`` and prints a table with each
target and where the figure stands.

PostgreSQL comes from WFA_BENCH_DATABASE_URL (or WFA_TEST_DATABASE_URL), Redis from
WFA_BENCH_REDIS_URL (or WFA_TEST_REDIS_URL); without them only the embedded stack runs. The
PostgreSQL database is emptied first: give the benchmarks a database of their own.
Usage: ``python bench/suite.py [--quick] [--modes embedded,postgres] [--only webhook-1,...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import Store, pg_write_tps
from report import table, with_ratios
from scenarios import SCENARIOS, client_for, measured
from sqlalchemy import create_engine, text
from stacks import started

from wfa.adapters.persistence.sqlalchemy import migrate

RESULTS = Path(__file__).with_name("results")


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def empty(url: str) -> None:
    """Migrate the PostgreSQL database and drop every run and workflow left in it."""
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        names = [name for name in tables if name != "alembic_version"]
        connection.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
        server = connection.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()
    print(f"PostgreSQL {server}: emptied", file=sys.stderr)


async def run_mode(
    mode: str, names: list[str], quick: bool, urls: dict[str, str], workers: int = 2
) -> dict:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        if mode == "postgres":
            await asyncio.to_thread(empty, urls["database"])
        async with started(
            mode,
            Path(name),
            database_url=urls.get("database", ""),
            redis_url=urls.get("redis", ""),
            workers=workers,
        ) as stack:
            store = Store(stack.database_url)
            client = client_for(stack)
            try:
                for scenario in names:
                    began = time.monotonic()
                    print(f"{mode}: {scenario} ...", file=sys.stderr, flush=True)
                    body = SCENARIOS[scenario]
                    results[scenario] = await measured(
                        stack, store, lambda body=body: body(stack, store, client, quick)
                    )
                    results[scenario]["seconds"] = round(time.monotonic() - began, 1)
            finally:
                await client.close()
                store.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts: under 2 minutes")
    parser.add_argument("--modes", default="embedded,postgres")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--scale", default="", help="also webhook-1 on PostgreSQL with these worker counts: 1,2,4"
    )
    args = parser.parse_args()
    urls = {
        "database": os.environ.get("WFA_BENCH_DATABASE_URL")
        or os.environ.get("WFA_TEST_DATABASE_URL", ""),
        "redis": os.environ.get("WFA_BENCH_REDIS_URL") or os.environ.get("WFA_TEST_REDIS_URL", ""),
    }
    modes = args.modes.split(",")
    if args.scale and "postgres" not in modes:
        print("--scale runs on PostgreSQL: add it to --modes", file=sys.stderr)
    if not (urls["database"] and urls["redis"]) and "postgres" in modes:
        print("no PostgreSQL or Redis given: the embedded stack only", file=sys.stderr)
        modes.remove("postgres")
    began = time.monotonic()
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "baseline": {}}
    if urls["database"]:
        tps = await pg_write_tps(urls["database"], 2.0 if args.quick else 5.0)
        report["baseline"]["pg_write_tps"] = round(tps, 1)
    scenarios: dict[str, dict[str, Any]] = {name: {} for name in args.only.split(",")}
    for mode in modes:
        for name, result in (await run_mode(mode, list(scenarios), args.quick, urls)).items():
            scenarios[name][mode] = result
    report["scenarios"] = with_ratios(scenarios, report["baseline"].get("pg_write_tps"))
    if args.scale and "postgres" in modes:
        report["scaling"] = {
            f"{count} workers": (
                await run_mode("postgres", ["webhook-1"], args.quick, urls, workers=int(count))
            )["webhook-1"]
            for count in args.scale.split(",")
        }
    report["seconds"] = round(time.monotonic() - began, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"written to {args.out} in {report['seconds']} s")


if __name__ == "__main__":
    asyncio.run(main())
