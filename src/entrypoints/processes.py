"""The roles as processes: ``wfa api``, ``wfa worker``, ``wfa scheduler`` (and their mix in
``wfa serve``). With WFA_REDIS_URL each role scales to N processes on one database and one
Redis; without it only ``wfa serve`` makes sense, with everything in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from wfa.adapters.queue.taskiq_redis import register_execute_step
from wfa.adapters.queue.taskiq_worker import run_worker
from wfa.entrypoints.config import ConfigError, Settings
from wfa.entrypoints.container import Container
from wfa.entrypoints.roles import LocalWorker, Scheduler

log = logging.getLogger("wfa.roles")

SHUTDOWN_GRACE_SECONDS = 10.0


def require_redis(role: str, settings: Settings) -> None:
    if settings.redis_url is None:
        raise ConfigError(
            f"WFA_REDIS_URL: 'wfa {role}' needs Redis to share work with other processes; "
            "without it, run everything in one process with 'wfa serve'"
        )


class BackgroundRoles:
    """The worker and/or scheduler a process runs beside (or instead of) the API."""

    def __init__(self, container: Container, *, worker: bool, scheduler: bool) -> None:
        self._container = container
        settings = container.settings()
        self._redis = settings.redis_url is not None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._local: LocalWorker | None = None
        self._scheduler: Scheduler | None = None
        if worker and not self._redis:
            self._local = LocalWorker(
                container.queue(), container.execute_step(), settings.worker_concurrency
            )
        self._taskiq_worker = worker and self._redis
        if scheduler:
            self._scheduler = Scheduler(
                container.fire_due_timers(),
                container.prune_runs(),
                settings.retention,
                schedules=container.fire_schedules(),
                events=container.handle_events(),
                notices=container.send_notices(),
            )

    async def start(self) -> None:
        container = self._container
        if self._redis:
            await container.broker().startup()
        if self._taskiq_worker:
            broker = container.broker()
            register_execute_step(broker, container.execute_step)
            concurrency = container.settings().worker_concurrency
            self._tasks.append(
                asyncio.create_task(
                    run_worker(
                        broker,
                        concurrency=concurrency,
                        stop=self._stop,
                        grace=SHUTDOWN_GRACE_SECONDS,
                    )
                )
            )
        if self._local is not None:
            self._local.start()
        if self._scheduler is not None:
            self._scheduler.start()

    async def stop(self) -> None:
        """Take no new work; let work in hand finish for a grace period; release Redis."""
        self._stop.set()
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self._local is not None:
            await self._local.stop(SHUTDOWN_GRACE_SECONDS)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._redis:
            if not self._taskiq_worker:  # run_worker shuts its broker down itself
                await self._container.broker().shutdown()
            await self._container.redis_client().aclose()


async def run_until_signalled(roles: BackgroundRoles) -> None:
    """Run the background roles until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await roles.start()
    print("wfa running; stop with Ctrl-C or SIGTERM", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        log.info("stopping: finishing the work in hand")
        await roles.stop()


async def background_process(settings: Settings, *, worker: bool, scheduler: bool) -> None:
    container = Container(settings=settings)
    try:
        await run_until_signalled(BackgroundRoles(container, worker=worker, scheduler=scheduler))
    finally:
        await container.http_request().aclose()  # the worker's pooled HTTP connections
        await container.database().dispose()
    log.info("wfa stopped")
