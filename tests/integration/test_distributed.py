"""The roles as separate ``wfa`` processes on one PostgreSQL and one Redis, under faults.

Every process is a real ``wfa api`` / ``wfa worker`` / ``wfa scheduler`` with an environment of
its own. Each test has a PostgreSQL schema and a Redis stream of its own (``WFA_QUEUE_NAME``),
so runs of this file beside others on the same databases cannot see each other; processes,
schema and Redis keys are removed afterwards, also when the test fails.

What every test checks at its end (``check_runs``): each run succeeded, every task step has
exactly one succeeded attempt, and a retry never started before its policy's delay had passed
since the failure (``due_at - failure >= delay`` and ``started_at >= due_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

from tests.conftest import service_url
from tests.databases import postgres_schema
from tests.integration.serve_process import free_port

WFA = str(Path(sys.executable).parent / "wfa")
API_KEY = "wfa_distributed_test_key_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
CONSUMER_GROUP = "wfa-workers"  # make_broker's default, which the processes use
START_TIMEOUT = 30.0
SETTLE_TIMEOUT = 60.0
UNFINISHED = ("pending", "running", "waiting")

FLAKY_RETRY = {"max_attempts": 3, "initial_interval": 0.2, "backoff_rate": 2.0}
# A killed worker's attempts are taken over within seconds; 8 steps per worker, so that
# more running at once proves both workers are busy.
FAST_FAILOVER = {
    "WFA_LEASE_SECONDS": "2",
    "WFA_REDELIVER_AFTER_SECONDS": "2",
    "WFA_QUEUE_IDLE_TIMEOUT_SECONDS": "4",
    "WFA_WORKER_CONCURRENCY": "8",
}


def task(step_id: str, action: str, params: Any = None, **more: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "task", "action": action, "params": params or {}, **more}


def flaky(step_id: str) -> dict[str, Any]:
    """Fails the first try of each visit, then succeeds after the retry's delay."""
    params = {"attempts": 1, "error": "upstream.busy"}
    return task(step_id, "fail", params, retry=FLAKY_RETRY)


def workflow(name: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "trigger": {"type": "webhook", "path": name}, "steps": list(steps)}


class Process:
    """One ``wfa`` role in a subprocess, its output in a log file."""

    def __init__(self, name: str, role: str, env: dict[str, str], log_path: Path) -> None:
        self.name, self.role, self.log_path = name, role, log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            [WFA, role], env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=log_path.parent
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        self.popen.wait(10)

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait for the process to end (SIGKILL if it outstays ``timeout``)."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
            raise AssertionError(f"{self.name} did not stop within {timeout}s") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()
        self._log.close()


class Cluster:
    """The test's processes, database schema and Redis stream."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str) -> None:
        self.tmp_path, self.database_url, self.redis_url = tmp_path, database_url, redis_url
        self.queue_name = f"wfa-test-{uuid.uuid4().hex[:12]}:jobs"
        self.processes: list[Process] = []
        self._started: list[Process] = []
        self.port = 0
        self.base = ""
        pg = make_url(database_url).set(drivername="postgresql")
        self._dsn = pg.render_as_string(hide_password=False)
        self.env: dict[str, str] = {
            **os.environ,
            "WFA_DATABASE_URL": database_url,
            "WFA_REDIS_URL": redis_url,
            "WFA_QUEUE_NAME": self.queue_name,
            "WFA_API_KEY": API_KEY,
            "WFA_LOG_FORMAT": "json",
        }

    # processes

    def start(self, role: str, name: str | None = None, **env: str) -> Process:
        name = name or f"{role}-{sum(p.role == role for p in self.processes) + 1}"
        process = Process(name, role, {**self.env, **env}, self.tmp_path / f"{name}.log")
        self.processes.append(process)
        return process

    def start_api(self, **env: str) -> Process:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        return self.start("api", WFA_PORT=str(self.port), **env)

    def wait_started(self, timeout: float = START_TIMEOUT) -> None:
        """Until the API answers /ready and every background role says it is running."""
        deadline = time.monotonic() + timeout
        for process in self.processes:
            if process in self._started:
                continue
            while True:
                if not process.alive():
                    raise AssertionError(f"{process.name} exited:\n{process.output()[-3000:]}")
                if process.role == "api":
                    with contextlib.suppress(httpx.TransportError):
                        if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                            break
                elif "wfa running" in process.output():
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{process.name} did not start:\n{process.output()[-3000:]}"
                    )
                time.sleep(0.1)
            self._started.append(process)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in self.processes)

    def close(self) -> None:
        for process in self.processes:
            if process.alive():
                process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            process.close()

    # Redis

    def flush_redis(self) -> None:
        """What FLUSHDB does to this test's processes, without touching other tests' keys.

        The stream (with its consumer group and pending lists) and the reclaim lock are all
        the Redis keys the processes keep; run events go over pub/sub, which keeps nothing.
        The workers' next read fails (NOGROUP, or UNBLOCKED if one was blocked on the stream)
        just as under FLUSHDB, and they declare the group again.
        """
        lock = f"autoclaim:{CONSUMER_GROUP}:{self.queue_name}"
        with redis.Redis.from_url(self.redis_url) as client:
            client.delete(self.queue_name, lock)

    # PostgreSQL

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self._dsn, autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()

    def attempts_in(self, status: str, step_id: str | None = None) -> int:
        """How many runs have their current attempt in ``status`` (of ``step_id``, if given)."""
        [(count,)] = self.query(
            "SELECT count(*) FROM runs WHERE state->'attempt'->>'status' = %s "
            "AND (%s::text IS NULL OR state->'attempt'->>'step_id' = %s)",
            status,
            step_id,
            step_id,
        )
        return int(count)

    def statuses(self) -> dict[str, int]:
        rows = self.query("SELECT status, count(*) FROM runs GROUP BY status")
        return {str(status): int(count) for status, count in rows}

    def wait_for(
        self, what: str, condition: Callable[[], bool], timeout: float = SETTLE_TIMEOUT
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what}; runs: {self.statuses()}\n{self.logs()}"
                )
            time.sleep(0.2)

    def wait_settled(self, count: int, timeout: float = SETTLE_TIMEOUT) -> None:
        """Until ``count`` runs exist and none is pending, running or waiting."""

        def settled() -> bool:
            statuses = self.statuses()
            return sum(statuses.values()) == count and not any(s in statuses for s in UNFINISHED)

        self.wait_for(f"{count} runs to finish", settled, timeout)

    # HTTP

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, headers=AUTH)

    def create_workflow(self, definition: dict[str, Any]) -> str:
        with self.client() as client:
            created = client.post("/api/v1/workflows", json=definition)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def start_runs(self, workflow_id: str, hook: str, count: int, first: int = 0) -> list[str]:
        """Start ``count`` runs, every other one by webhook and the rest through the API."""

        def start(n: int) -> str:
            if n % 2:
                response = client.post(f"/hooks/{hook}", json={"n": n})
            else:
                path = f"/api/v1/workflows/{workflow_id}/runs"
                response = client.post(path, json={"input": {"n": n}})
            assert response.status_code == 202, response.text
            return str(response.json()["run_id"])

        with self.client() as client, ThreadPoolExecutor(8) as pool:
            return list(pool.map(start, range(first, first + count)))

    def run_details(self, run_ids: list[str]) -> list[dict[str, Any]]:
        def get(run_id: str) -> dict[str, Any]:
            response = client.get(f"/api/v1/runs/{run_id}")
            assert response.status_code == 200, response.text
            details: dict[str, Any] = response.json()
            return details

        with self.client() as client, ThreadPoolExecutor(8) as pool:
            return list(pool.map(get, run_ids))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    base_url = service_url("WFA_TEST_DATABASE_URL")
    redis_url = service_url("WFA_TEST_REDIS_URL")
    runner = asyncio.Runner()
    schema = postgres_schema(base_url)
    database_url = runner.run(schema.__aenter__())
    cluster = Cluster(tmp_path, database_url, redis_url)
    try:
        yield cluster
    finally:
        try:
            cluster.close()
            cluster.flush_redis()
        finally:
            runner.run(schema.__aexit__(None, None, None))
            runner.close()


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def check_runs(
    details: list[dict[str, Any]], task_steps: list[str], retries: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """The invariants every test ends with; returns every attempt seen, for more checks."""
    seen: list[dict[str, Any]] = []
    for run in details:
        assert run["status"] == "succeeded", run
        steps = {step["id"]: step["attempts"] for step in run["steps"]}
        assert sorted(steps) == sorted(task_steps), run
        for step_id, attempts in steps.items():
            seen += attempts
            succeeded = [a for a in attempts if a["status"] == "succeeded"]
            assert len(succeeded) == 1, (run["id"], step_id, attempts)
            policy = retries.get(step_id)
            for before, after in itertools.pairwise(attempts):
                assert before["status"] == "failed", (run["id"], step_id, attempts)
                assert after["try_number"] == before["try_number"] + 1, attempts
                assert policy is not None, f"step {step_id} has no retry policy but was retried"
                delay = min(
                    policy["initial_interval"]
                    * policy.get("backoff_rate", 2.0) ** (before["try_number"] - 1),
                    policy.get("max_interval", 300.0),
                )
                failed_at = _instant(before["ended_at"])
                due_at = _instant(after["due_at"])
                assert due_at - failed_at >= timedelta(seconds=delay), (run["id"], attempts)
                assert _instant(after["started_at"]) >= due_at, (run["id"], attempts)
    return seen


def errors_of(attempts: list[dict[str, Any]]) -> set[str]:
    return {a["error"]["error"] for a in attempts if a["error"] is not None}


def test_two_workers_two_schedulers_and_an_api_run_200_runs_with_retries(cluster):
    definition = workflow(
        "distributed-200",
        task("receive", "set", {"n": "{{ input.n }}"}),
        flaky("flaky"),
        task("shape", "set", {"n": "{{ steps.receive.output.n }}", "ok": True}),
        task("note", "noop"),
        task("reply", "set", {"done": "{{ steps.shape.output.n }}"}),
    )
    cluster.start_api()
    for _ in range(2):
        cluster.start("worker")
        cluster.start("scheduler")
    cluster.wait_started()
    workflow_id = cluster.create_workflow(definition)

    run_ids = cluster.start_runs(workflow_id, "distributed-200", 200)
    cluster.wait_settled(200)

    details = cluster.run_details(run_ids)
    attempts = check_runs(
        details, ["receive", "flaky", "shape", "note", "reply"], {"flaky": FLAKY_RETRY}
    )
    assert errors_of(attempts) == {"upstream.busy"}
    assert len(attempts) == 200 * 6  # one failed try of the flaky step per run, nothing more
    assert sorted(run["output"]["done"] for run in details) == list(range(200))
    assert all(process.alive() for process in cluster.processes), cluster.logs()


def test_a_worker_killed_in_the_middle_of_a_slow_step(cluster):
    slow_retry = {"max_attempts": 4, "initial_interval": 0.2, "backoff_rate": 1.0}
    definition = workflow(
        "distributed-kill",
        task("receive", "set", {"n": "{{ input.n }}"}),
        task("slow", "sleep", {"seconds": 2}, retry=slow_retry),
        flaky("flaky"),
        task("note", "noop"),
        task("reply", "set", {"done": "{{ input.n }}"}),
    )
    cluster.env |= FAST_FAILOVER
    cluster.start_api()
    victim = cluster.start("worker")
    cluster.start("worker")
    cluster.start("scheduler")
    cluster.wait_started()
    workflow_id = cluster.create_workflow(definition)

    run_ids = cluster.start_runs(workflow_id, "distributed-kill", 30)

    # More slow steps running than one worker may hold: both workers are in the middle of one.
    def both_workers_busy() -> bool:
        return cluster.attempts_in("running", "slow") > 8

    cluster.wait_for("both workers to run slow steps", both_workers_busy, timeout=30)
    victim.kill()
    cluster.wait_settled(30)

    details = cluster.run_details(run_ids)
    attempts = check_runs(
        details,
        ["receive", "slow", "flaky", "note", "reply"],
        {"slow": slow_retry, "flaky": FLAKY_RETRY},
    )
    lost = [a for a in attempts if a["error"] and a["error"]["error"] == "worker.lost"]
    assert lost, "no attempt was lost with the killed worker"
    assert errors_of(attempts) <= {"upstream.busy", "worker.lost"}
    assert all(p.alive() for p in cluster.processes if p is not victim), cluster.logs()


def test_redis_flushed_in_the_middle_of_a_batch(cluster):
    definition = workflow(
        "distributed-flush",
        task("receive", "set", {"n": "{{ input.n }}"}),
        task("slow", "sleep", {"seconds": 0.4}),
        flaky("flaky"),
        task("note", "noop"),
        task("reply", "set", {"done": "{{ input.n }}"}),
    )
    # Few jobs at once and slow ones: a backlog waits unread in the stream when it goes.
    cluster.env |= {"WFA_REDELIVER_AFTER_SECONDS": "1.5", "WFA_WORKER_CONCURRENCY": "2"}
    cluster.start_api()
    cluster.start("worker")
    cluster.start("worker")
    cluster.start("scheduler")
    cluster.wait_started()
    workflow_id = cluster.create_workflow(definition)

    run_ids = cluster.start_runs(workflow_id, "distributed-flush", 30)
    # Jobs sent but not begun: their only copy is in Redis (or a worker's hands), and goes.
    # Four slots and 30 runs of a 0.4 s step make a backlog, however fast the rest is.
    cluster.wait_for("a backlog of jobs", lambda: cluster.attempts_in("queued") >= 5)
    cluster.flush_redis()
    # Jobs sent while the workers are still finding out that their stream is gone.
    run_ids += cluster.start_runs(workflow_id, "distributed-flush", 10, first=30)
    cluster.wait_settled(40)

    details = cluster.run_details(run_ids)
    attempts = check_runs(
        details, ["receive", "slow", "flaky", "note", "reply"], {"flaky": FLAKY_RETRY}
    )
    assert errors_of(attempts) == {"upstream.busy"}
    assert sorted(run["output"]["done"] for run in details) == list(range(40))
    assert all(process.alive() for process in cluster.processes), cluster.logs()


def test_the_scheduler_restarted_in_the_middle_of_a_batch(cluster):
    definition = workflow(
        "distributed-restart",
        task("receive", "set", {"n": "{{ input.n }}"}),
        flaky("flaky"),
        {"id": "pause", "type": "wait", "seconds": 2},
        task("shape", "set", {"n": "{{ input.n }}"}),
        task("note", "noop"),
        task("reply", "set", {"done": "{{ input.n }}"}),
    )
    cluster.start_api()
    cluster.start("worker")
    cluster.start("worker")
    scheduler = cluster.start("scheduler")
    cluster.wait_started()
    workflow_id = cluster.create_workflow(definition)

    run_ids = cluster.start_runs(workflow_id, "distributed-restart", 40)
    # Stopped while runs wait on timers only a scheduler fires (the runs move in step, so
    # waiting for some to succeed first could see the whole batch end while it stops).
    cluster.wait_for("runs waiting on timers", lambda: cluster.statuses().get("waiting", 0) >= 3)
    assert scheduler.terminate() == 0, scheduler.output()[-3000:]
    unfinished = sum(n for s, n in cluster.statuses().items() if s in UNFINISHED)
    assert unfinished, "the batch ended before the scheduler stopped"
    time.sleep(1.0)  # timers fall due while no scheduler runs
    cluster.start("scheduler")
    cluster.wait_started()
    cluster.wait_settled(40)

    details = cluster.run_details(run_ids)
    attempts = check_runs(
        details, ["receive", "flaky", "shape", "note", "reply"], {"flaky": FLAKY_RETRY}
    )
    assert errors_of(attempts) == {"upstream.busy"}
    assert all(p.alive() for p in cluster.processes if p is not scheduler), cluster.logs()


def test_a_map_runs_on_two_workers_and_one_is_killed_mid_map(cluster):
    nap_retry = {"max_attempts": 4, "initial_interval": 0.2, "backoff_rate": 1.0}
    definition = workflow(
        "distributed-map",
        {
            "id": "each",
            "type": "map",
            "items": "{{ input.items }}",
            "max_concurrency": 16,
            "steps": [
                task("nap", "sleep", {"seconds": 1}, retry=nap_retry),
                task("echo", "set", {"item": "{{ item }}", "index": "{{ index }}"}),
            ],
        },
    )
    cluster.env |= FAST_FAILOVER
    cluster.start_api()
    victim = cluster.start("worker")
    cluster.start("worker")
    cluster.start("scheduler")
    cluster.wait_started()
    workflow_id = cluster.create_workflow(definition)
    items = [f"item-{n}" for n in range(60)]
    with cluster.client() as client:
        started = client.post(
            f"/api/v1/workflows/{workflow_id}/runs", json={"input": {"items": items}}
        )
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]

    # More iterations asleep than one worker may hold: both workers run iterations of the map.
    def both_workers_busy() -> bool:
        return cluster.attempts_in("running", "nap") > 8

    cluster.wait_for("both workers to run iterations", both_workers_busy, timeout=30)
    victim.kill()
    cluster.wait_settled(1 + len(items), timeout=120)

    [run] = cluster.run_details([run_id])
    assert run["status"] == "succeeded", run
    assert run["output"] == [{"item": item, "index": i} for i, item in enumerate(items)]
    [(count, ended)] = cluster.query(
        "SELECT count(*), count(*) FILTER (WHERE status = 'succeeded') FROM runs "
        "WHERE parent_run_id = %s",
        run_id,
    )
    assert (count, ended) == (len(items), len(items))
    iterations = cluster.query(
        "SELECT id FROM runs WHERE parent_run_id = %s ORDER BY child_index", run_id
    )
    details = cluster.run_details([str(row[0]) for row in iterations])
    attempts = check_runs(details, ["nap", "echo"], {"nap": nap_retry})
    assert any(a["error"] and a["error"]["error"] == "worker.lost" for a in attempts)
    assert errors_of(attempts) <= {"worker.lost"}
    # The parent counted each iteration's end exactly once.
    [(child_ends,)] = cluster.query(
        "SELECT count(*) FROM run_events WHERE run_id = %s AND type = 'fan.child_ended'", run_id
    )
    assert child_ends == len(items)
    assert all(p.alive() for p in cluster.processes if p is not victim), cluster.logs()


def test_signals_sent_to_two_api_processes_while_a_worker_is_killed(cluster):
    """Each run gets its signal twice (one Idempotency-Key, one API process each) while the
    worker holding half the runs dies: every run takes its signal exactly once and ends."""
    slow_retry = {"max_attempts": 4, "initial_interval": 0.2, "backoff_rate": 1.0}
    definition = workflow(
        "distributed-signals",
        task("slow", "sleep", {"seconds": 2}, retry=slow_retry),
        {"id": "approve", "type": "await", "signal": "approval", "timeout": 120},
        task("reply", "set", {"approved": "{{ steps.approve.output.by }}"}),
    )
    cluster.env |= FAST_FAILOVER
    cluster.start_api()
    first_api = cluster.base
    cluster.start_api()  # a second API process; signals go to both
    victim = cluster.start("worker")
    cluster.start("worker")
    cluster.start("scheduler")
    cluster.wait_started()
    workflow_id = cluster.create_workflow(definition)
    run_ids = cluster.start_runs(workflow_id, "distributed-signals", 24)

    def both_workers_busy() -> bool:
        return cluster.attempts_in("running", "slow") > 8

    cluster.wait_for("both workers to run slow steps", both_workers_busy, timeout=30)
    victim.kill()

    def signal(job: tuple[str, str]) -> dict[str, Any]:
        run_id, base = job
        with httpx.Client(base_url=base, timeout=30, headers=AUTH) as client:
            sent = client.post(
                f"/api/v1/runs/{run_id}/signals/approval",
                json={"by": run_id},
                headers={"Idempotency-Key": f"approval-{run_id}"},
            )
        assert sent.status_code == 202, sent.text
        answer: dict[str, Any] = sent.json()
        return answer

    jobs = [(run_id, base) for run_id in run_ids for base in (first_api, cluster.base)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(signal, jobs))
    cluster.wait_settled(24)

    for run_id in run_ids:
        mine = [a for a in answers if a["run_id"] == run_id]
        assert sorted(a["duplicate"] for a in mine) == [False, True], mine
        assert len({a["seq"] for a in mine}) == 1, mine
    details = cluster.run_details(run_ids)
    attempts = check_runs(details, ["slow", "approve", "reply"], {"slow": slow_retry})
    assert any(a["error"] and a["error"]["error"] == "worker.lost" for a in attempts)
    assert all(run["output"] == {"approved": run["id"]} for run in details)
    rows = cluster.query(
        "SELECT type, count(*) FROM run_events WHERE type IN "
        "('signal.received', 'signal.consumed') GROUP BY type"
    )
    assert dict(rows) == {"signal.received": 24, "signal.consumed": 24}
    assert all(p.alive() for p in cluster.processes if p is not victim), cluster.logs()
