"""``wfa serve`` (API, worker and scheduler in one process) and ``wfa api`` (the API alone).

``wfa serve`` applies migrations first; both print the admin API key once when none exists.
SIGINT or SIGTERM stops taking work, lets steps in hand finish for a grace period, then
exits; anything cut off resumes on the next start (its lease runs out and it is retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator

import uvicorn
from sqlalchemy.engine import make_url

from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.entrypoints import event_loop
from wfa.entrypoints.cli_db import ensure_sqlite_folder, seal_plain_webhook_secrets
from wfa.entrypoints.config import Settings
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.access_log import access_logged
from wfa.entrypoints.http.app import create_app
from wfa.entrypoints.listener import bind_listener
from wfa.entrypoints.processes import BackgroundRoles

log = logging.getLogger("wfa.serve")

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SHUTDOWN_GRACE_SECONDS = 10.0


def serve(settings: Settings, *, everything: bool = True) -> int:
    """Serve the API; with ``everything``, the worker and the scheduler run beside it."""
    # The port first: a taken WFA_PORT must stop the start before an admin key is made.
    listener = bind_listener(settings.host, settings.port)
    try:
        if everything:
            ensure_sqlite_folder(settings.database_url)
            migrate.upgrade(settings.database_url)  # Alembic runs its own loop: before ours
        event_loop.run(_serve(settings, everything, listener))
    finally:
        listener.close()
    return 0


async def _serve(settings: Settings, everything: bool, listener: socket.socket) -> None:
    container = Container(settings=settings)
    new_key = await container.ensure_bootstrap_key().execute(settings.api_key)
    container.secret_cipher()  # reads (or makes) the secret key now: a bad one stops start-up
    if everything:
        await seal_plain_webhook_secrets(settings)  # the data step of the upgrade above
    roles = BackgroundRoles(container, worker=everything, scheduler=everything)
    app = create_app(container, on_startup=[roles.start], on_shutdown=[roles.stop])
    server = _Server(
        container.server_stopping(),
        uvicorn.Config(
            access_logged(app) if settings.access_log else app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE_SECONDS),
        ),
    )
    _banner(settings, new_key, everything)
    try:
        await server.serve(sockets=[listener])
    finally:
        await container.http_request().aclose()  # the worker's pooled HTTP connections
        await container.database().dispose()
    log.info("wfa stopped")


class _Server(uvicorn.Server):
    """uvicorn, except that a stop by signal ends the process normally (exit 0), and that
    responses held open (SSE streams, `?wait` holders) are told to end before uvicorn
    waits for them.

    uvicorn raises the signal again after its graceful shutdown, which makes a clean,
    finished stop look like a kill to supervisors and scripts. It waits for every open
    connection for the grace period, then cancels what is left with an ERROR and a
    traceback: a stream ends only when it is told to.
    """

    def __init__(self, stopping: asyncio.Event, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stopping = stopping

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stopping.set()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _banner(settings: Settings, new_key: str | None, everything: bool) -> None:
    base = f"http://{settings.host}:{settings.port}"
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    lines = [
        f"wfa serving on {base}  ({'API + worker + scheduler' if everything else 'API'})",
        f"  console  {base}/ui",
        f"  docs     {base}/schema",
        f"  database {database}",
    ]
    if new_key is not None:
        lines += [
            "",
            "  admin API key (shown once, keep it safe; only its hash is stored):",
            f"    {new_key}",
            f'  try: curl -H "Authorization: Bearer {new_key}" {base}/api/v1/workflows',
        ]
    print("\n".join(lines), file=sys.stderr, flush=True)
