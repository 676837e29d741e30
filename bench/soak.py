"""Soak: does ``wfa serve`` keep its memory flat over many runs?

Starts ``wfa serve`` on 127.0.0.1 with an embedded SQLite file and the in-process queue and
event feed, registers a short workflow whose task runs through the queue, and fires its
webhook with ``?wait`` from C concurrent clients (a bounded load: at most C runs in flight)
until N runs have succeeded. It reads the server's resident memory (VmRSS in
/proc/<pid>/status) after the first ``--warmup`` runs and again after all N, prints both and
their ratio, and exits 1 when the ratio is above ``--max-ratio`` (what a process that keeps
something per run, forever, shows). Linux only.
Usage: ``python bench/soak.py [--runs N] [--warmup W] [--concurrency C] [--max-ratio R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from served import HEADERS, RATE_LIMITS_OFF, Served, serving

FLOW = {
    "name": "soak",
    "trigger": {"type": "webhook", "path": "soak"},
    "steps": [
        {"id": "echo", "type": "task", "action": "set", "params": {"n": "{{ input.n }}"}},
        {"id": "done", "type": "succeed"},
    ],
}
PROGRESS_EVERY = 2000


def resident_kib(pid: int) -> int:
    """The process's resident set size in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


async def drive(client: httpx.AsyncClient, first: int, count: int, concurrency: int) -> None:
    """Run ``count`` runs to their end through the webhook, ``concurrency`` at a time."""
    numbers = iter(range(first, first + count))
    started = time.perf_counter()

    async def client_loop() -> None:
        for number in numbers:
            answer = await client.post("/hooks/soak?wait=30", json={"n": number})
            if answer.status_code != 200 or answer.json()["status"] != "succeeded":
                raise SystemExit(f"run {number} did not succeed: {answer.text}")
            if (number + 1) % PROGRESS_EVERY == 0:
                rate = (number + 1 - first) / (time.perf_counter() - started)
                print(f"  {number + 1:6d} runs  {rate:6.1f} runs/s", flush=True)

    await asyncio.gather(*(client_loop() for _ in range(concurrency)))


def client_of(served: Served) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=served.base, headers=HEADERS, timeout=60)


async def soak(runs: int, warmup: int, concurrency: int) -> tuple[int, int]:
    """Resident KiB of ``wfa serve`` after ``warmup`` runs and after ``runs``."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = f"sqlite+aiosqlite:///{folder}/soak.db"
        async with serving(url, folder) as served, client_of(served) as client:
            (await client.post("/api/v1/workflows", json=FLOW)).raise_for_status()
            await drive(client, 0, warmup, concurrency)
            early = resident_kib(served.pid)
            await drive(client, warmup, runs - warmup, concurrency)
            late = resident_kib(served.pid)
    return early, late


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-ratio", type=float, default=1.2)
    args = parser.parse_args()
    if not 0 < args.warmup < args.runs:
        parser.error("--warmup must be between 0 and --runs")
    print(f"soak: {args.runs} webhook runs through wfa serve, {args.concurrency} at a time")
    early, late = await soak(args.runs, args.warmup, args.concurrency)
    ratio = late / early
    verdict = "ok" if ratio <= args.max_ratio else "GROWING"
    print(f"  RSS after {args.warmup:6d} runs  {early / 1024:8.1f} MiB")
    print(f"  RSS after {args.runs:6d} runs  {late / 1024:8.1f} MiB")
    print(f"  ratio {ratio:.2f} (limit {args.max_ratio:.2f})  {verdict}")
    print(f"  (rate limits off: {', '.join(f'{k}={v}' for k, v in RATE_LIMITS_OFF.items())})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
