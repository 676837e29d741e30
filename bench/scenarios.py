"""The benchmark scenarios, each run against a started stack (see stacks.py).

Every scenario registers its own workflow, drives it over HTTP from 127.0.0.1 and reads its
figures back from the store; ``measured`` adds what every scenario reports: peak resident
memory per process and, on PostgreSQL, write transactions per completed step.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from http_load import Answer, Client, closed_loop, open_loop
from measure import Store, decoded, ms, percentile, until_finished
from stacks import HEADERS, Stack

Result = dict[str, Any]
ENDED_STEPS = ("step.succeeded", "step.failed", "wait.ended")
CONFLICT = "decided again after a concurrent change"
SUSTAINED: dict[str, float] = {}  # webhook-1's best runs/s per stack, for paced scenarios


def task(step_id: str, action: str = "noop", **more: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "task", "action": action, **more}


async def register(client: Client, steps: list[dict[str, Any]], **more: Any) -> str:
    """A workflow of ``steps`` started by a webhook of its own; its path is returned."""
    path = f"bench-{uuid.uuid4().hex[:10]}"
    definition = {"name": path, "trigger": {"type": "webhook", "path": path}, "steps": steps}
    answer = await client.request("POST", "/api/v1/workflows", definition | more)
    if answer.status != 201:
        raise SystemExit(f"could not register a workflow: {answer.status} {answer.body!r}")
    return f"/hooks/{path}"


def run_id(answer: Answer) -> str:
    if answer.status not in (200, 202):
        raise SystemExit(f"a webhook was refused: {answer.status} {answer.body!r}")
    body = answer.json()
    assert isinstance(body, dict)
    return str(body["run_id"])


async def start_many(client: Client, hook: str, count: int, make_input: Callable[[int], Any]):
    """Start ``count`` runs as fast as the API takes them (64 requests at a time)."""
    ids: list[str] = []

    async def one(number: int) -> None:
        ids.append(run_id(await client.request("POST", hook, make_input(number))))

    await closed_loop(count, 64, one)
    return ids


async def measured(stack: Stack, store: Store, body: Callable[[], Awaitable[Result]]) -> Result:
    """Run one scenario; add its peak memory per process and its transactions per step."""
    stack.reset_peaks()
    before = await asyncio.to_thread(store.write_transactions)
    cpu_before, began = stack.cpu_seconds(), time.monotonic()
    result = await body()
    cpu_after, elapsed = stack.cpu_seconds(), time.monotonic() - began
    after = await asyncio.to_thread(store.write_transactions)
    # Cores each process kept busy on average over the scenario (2.0: both, all the time).
    result["cpu_cores"] = {
        name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / elapsed, 2)
        for name in cpu_after
    }
    run_ids: list[str] = result.pop("run_ids")
    ended = await asyncio.to_thread(store.ended, run_ids)
    # Every run a scenario starts is meant to succeed (but the long run, which its history
    # budget ends): a figure over failed runs says nothing.
    expected = result.pop("expected_status", "succeeded")
    result["not_succeeded"] = sum(1 for _, _, status in ended.values() if status != expected)
    steps = len(await asyncio.to_thread(store.events, run_ids, ENDED_STEPS))
    steps += result.pop("other_steps", 0)
    result["steps"] = steps
    if before is not None and after is not None and steps:
        # Less the one transaction id that reading it took.
        result["tx_per_step"] = round((after - before - 1) / steps, 2)
    result["rss_mb"] = {role: round(mb, 1) for role, mb in stack.peak_rss_mb().items()}
    return result


async def webhook_1(stack: Stack, store: Store, client: Client, quick: bool) -> Result:
    """Open loop at rising rates until completions stop keeping up; then latency at half."""
    hook = await register(client, [task("work")])
    rates = [100, 250, 500, 800, 1200, 1600] if quick else [50, 100, 200, 300, 400, 600, 800]
    rates += [] if quick else [1000, 1200, 1500, 2000]
    seconds = 2.0 if quick else 4.0
    numbers = itertools.count()
    ids: list[str] = []

    async def send(_: int) -> Answer:
        return await client.request("POST", hook, {"n": next(numbers)})

    async def at_rate(rate: float, length: float) -> tuple[float, list[float], int]:
        sent = await open_loop(client, rate, length, send)
        started = [run_id(answer) for answer in sent.answers]
        ids.extend(started)
        await until_finished(store, started, within=60)
        ended = await asyncio.to_thread(store.ended, started)
        finishes = [(ended[i][1], at) for i, at in zip(started, sent.at, strict=True)]
        done = [f.timestamp() for f, _ in finishes if f is not None]
        latencies = [f.timestamp() - at for f, at in finishes if f is not None]
        achieved = len(done) / (max(done) - min(sent.at)) if len(done) > 1 else 0.0
        return achieved, latencies, sent.skipped

    steps = []
    best = 0.0
    for rate in rates:
        achieved, _, skipped = await at_rate(rate, seconds)
        steps.append({"offered": rate, "completed_per_s": round(achieved, 1), "skipped": skipped})
        best = max(best, achieved)
        if achieved < 0.9 * rate or skipped:
            break
    SUSTAINED[stack.mode] = best
    half = max(best / 2, 1.0)
    before = stack.cpu_seconds()
    _, latencies, _ = await at_rate(half, 3.0 if quick else 10.0)
    # CPU a run costs each process at a steady rate: the figure to compare two versions by,
    # steadier than a saturated rate on a noisy machine.
    used = {name: seconds - before[name] for name, seconds in stack.cpu_seconds().items()}
    runs = max(len(latencies), 1)
    return {
        "runs_per_s": round(best, 1),
        "at_rate": round(half, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        "cpu_ms_per_run": {name: round(1000 * s / runs, 2) for name, s in used.items()},
        "ramp": steps,
        "run_ids": ids,
    }


async def chain_10(stack: Stack, store: Store, client: Client, quick: bool) -> Result:
    """Many runs of ten sequential tasks at once: steps per second."""
    hook = await register(client, [task(f"s{n}") for n in range(10)])
    count = 100 if quick else 500
    began = time.time()
    ids = await start_many(client, hook, count, lambda n: {"n": n})
    await until_finished(store, ids, within=300)
    ended = await asyncio.to_thread(store.ended, ids)
    last = max(f.timestamp() for _, f, _ in ended.values() if f is not None)
    return {"steps_per_s": round(10 * count / (last - began), 1), "runs": count, "run_ids": ids}


async def chain_40(stack: Stack, store: Store, client: Client, quick: bool) -> Result:
    """One run at a time of 40 light tasks, each answered at its end (``?wait``)."""
    hook = await register(client, [task(f"s{n}") for n in range(40)])
    times, ids = [], []
    for number in range(5 if quick else 30):
        began = time.perf_counter()
        answer = await client.request("POST", f"{hook}?wait=30", {"n": number})
        times.append(time.perf_counter() - began)
        if answer.status != 200:
            raise SystemExit(f"chain-40 did not end within 30 s: {answer.body!r}")
        ids.append(run_id(answer))
    return {
        "p50_ms": ms(statistics.median(times)),
        "p99_ms": ms(percentile(times, 99)),
        "runs": len(times),
        "run_ids": ids,
    }


async def retry(stack: Stack, store: Store, client: Client, quick: bool) -> Result:
    """A step failing twice with 50 ms backoff: how late each retry starts after its due time."""
    policy = {"max_attempts": 3, "initial_interval": 0.05, "backoff_rate": 1.0}
    hook = await register(client, [task("flaky", "fail", params={"attempts": 2}, retry=policy)])
    count = 40 if quick else 300
    sent = await open_loop(client, 50, count / 50, lambda n: client.request("POST", hook, {}))
    ids = [run_id(answer) for answer in sent.answers]
    await until_finished(store, ids, within=120)
    starts = await asyncio.to_thread(store.events, ids, ["step.started"])
    lateness = []
    for _, of_run in itertools.groupby(starts, key=lambda row: row[0]):
        for _, _, _, at, data in list(of_run)[1:]:  # the first start is no retry
            due = datetime.fromisoformat(decoded(data)["due_at"])
            lateness.append((at - due).total_seconds())
    return {
        "lateness_p99_ms": ms(percentile(lateness, 99)),
        "retries": len(lateness),
        "run_ids": ids,
    }


async def timers(stack: Stack, store: Store, client: Client, quick: bool) -> Result:
    """Runs waiting 1 s each: how late they wake; then as many waking at one instant: how
    many the scheduler wakes a second."""
    # The embedded stack sustains less than PostgreSQL's: 10,000 would take it minutes at
    # half its rate.
    count = 500 if quick else 10_000 if stack.mode == "postgres" else 2_000
    hook = await register(client, [{"id": "pause", "type": "wait", "seconds": 1}, task("after")])
    # Started at half the webhook rate this stack sustained (50/s when webhook-1 did not run
    # first): lateness is the scheduler's, not a saturated machine's.
    rate = SUSTAINED.get(stack.mode, 100.0) / 2
    sent = await open_loop(client, rate, count / rate, lambda n: client.request("POST", hook, {}))
    ids = [run_id(answer) for answer in sent.answers]
    await until_finished(store, ids, within=300)
    events = await asyncio.to_thread(store.events, ids, ["wait.started", "wait.ended"])
    lateness = [ended - until for _, until, ended in _waits(events)]
    # The burst's instant leaves time to create every run first, at the rate sustained.
    burst_hook = await register(
        client, [{"id": "pause", "type": "wait", "until": "{{ input.at }}"}, task("after")]
    )
    at = datetime.now(UTC) + timedelta(seconds=1.5 * count / (2 * rate) + 2)
    burst = await start_many(client, burst_hook, count, lambda n: {"at": at.isoformat()})
    assert datetime.now(UTC) < at, "the burst's instant passed before its runs were made"
    await until_finished(store, burst, within=300)
    events = await asyncio.to_thread(store.events, burst, ["wait.started", "wait.ended"])
    woken = [ended for started, until, ended in _waits(events) if started < until]
    drained = max(woken) - at.timestamp() if woken else 0.0
    return {
        "lateness_p99_ms": ms(percentile(lateness, 99)),
        "wakes": len(lateness),
        "claims_per_s": round(len(woken) / drained, 1) if drained > 0 else None,
        "burst": len(woken),
        "run_ids": ids + burst,
    }


def _waits(events: list[tuple[Any, ...]]) -> list[tuple[float, float, float]]:
    """(started, until, ended) in epoch seconds for each run's wait that ended."""
    waits = []
    for _, of_run in itertools.groupby(events, key=lambda row: row[0]):
        rows = list(of_run)
        if len(rows) == 2:
            until = datetime.fromisoformat(decoded(rows[0][4])["until"]).timestamp()
            waits.append((rows[0][3].timestamp(), until, rows[1][3].timestamp()))
    return waits


async def map_1000(stack: Stack, store: Store, client: Client, quick: bool) -> Result:
    """One map over many items (``max_concurrency`` 50), two tasks an iteration."""
    items = 200 if quick else 1000
    iteration = [task("work", "set", params={"n": "{{ item }}"}), task("log")]
    hook = await register(
        client,
        [
            {
                "id": "each",
                "type": "map",
                "items": "{{ input.items }}",
                "max_concurrency": 50,
                "steps": iteration,
            }
        ],
    )
    conflicts = stack.log_count(CONFLICT)
    ids = [run_id(await client.request("POST", hook, {"items": list(range(items))}))]
    await until_finished(store, ids, within=600)
    created, finished, status = (await asyncio.to_thread(store.ended, ids))[ids[0]]
    assert finished is not None
    elapsed = (finished - created).total_seconds()
    children = await asyncio.to_thread(store.children, ids[0])
    steps = len(await asyncio.to_thread(store.events, children, ENDED_STEPS))
    return {
        "status": status,
        "items": items,
        "iterations_per_s": round(items / elapsed, 1),
        "steps_per_s": round(steps / elapsed, 1),
        "conflicts": stack.log_count(CONFLICT) - conflicts,
        "other_steps": steps,
        "run_ids": ids,
    }


async def long_run(stack: Stack, store: Store, client: Client, quick: bool) -> Result:
    """One run looping over a task: a step's cost around step 10 and around the last."""
    steps = 200 if quick else 1000
    loop = [
        task("work", "set", params={"v": "{{ input.v }}"}),
        {
            "id": "again",
            "type": "choice",
            "choices": [{"when": "input.v != 'stop'", "next": "work"}],
            "default": "done",
        },
        {"id": "done", "type": "succeed"},
    ]
    hook = await register(client, loop, limits={"max_events": 4 * steps + 3})
    ids = [run_id(await client.request("POST", hook, {"v": "x" * 200}))]
    await until_finished(store, ids, within=600)
    ends = [row[3] for row in await asyncio.to_thread(store.events, ids, ["step.succeeded"])]
    costs = [(b - a).total_seconds() for a, b in itertools.pairwise(ends)]
    early, late = statistics.median(costs[5:20]), statistics.median(costs[-20:])
    return {
        "steps": len(ends),
        "step_ms_at_10": ms(early),
        "step_ms_at_end": ms(late),
        "ratio": round(late / early, 2),
        "run_ids": ids,
        "expected_status": "failed",  # run.history_limit, after its last step
    }


SCENARIOS = {
    "webhook-1": webhook_1,
    "chain-10": chain_10,
    "chain-40": chain_40,
    "retry": retry,
    "timers": timers,
    "map-1000": map_1000,
    "long-run": long_run,
}


def client_for(stack: Stack) -> Client:
    return Client(stack.base, HEADERS, size=256)
